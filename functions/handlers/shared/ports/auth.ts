/**
 * Port group: the token verifier (JWTs against the issuer's JWKS). Only the functions that read a
 * token themselves import it: `$connect`, `authenticate` and the `$default` shim. HTTP routes get
 * their identity from API Gateway's JWT authorizer and never need it.
 */
import { UnavailableError } from '#core/errors';
import { makeJwtVerifier } from '#adapters/auth/jwt-verifier';
import { deferred, once, providePorts } from '../container.ts';
import { loggerPort } from '../observability.ts';

providePorts({
  name: 'auth',
  build(config) {
    const verifier = once(() => {
      if (!config.AUTH_ISSUER || !config.AUTH_AUDIENCE) throw new UnavailableError('AUTH_ISSUER and AUTH_AUDIENCE are not configured');
      return makeJwtVerifier({
        issuer: config.AUTH_ISSUER,
        // A comma-separated list accepts tokens for any of several app clients.
        audience: config.AUTH_AUDIENCE.split(',').map((audience) => audience.trim()).filter(Boolean),
        jwksUri: config.AUTH_JWKS_URI,
        claimNames: { userId: config.AUTH_CLAIM_USER_ID, role: config.AUTH_CLAIM_ROLE, providerId: config.AUTH_CLAIM_PROVIDER_ID },
        serviceScope: config.AUTH_SERVICE_SCOPE,
        logger: loggerPort,
      });
    });
    return { ports: { verifier: deferred(async () => verifier()) } };
  },
});
