/**
 * The TokenVerifier port on aws-jwt-verify's generic `JwtVerifier`: RS256 JWTs from one issuer,
 * with keys from its JWKS. Create it once per container; the JWKS and the parsed public keys are
 * cached inside it.
 *
 * Supported issuers:
 * - A Cognito user pool (`issuer` = `https://cognito-idp.<region>.amazonaws.com/<poolId>`,
 *   `audience` = the app client id). Both ID tokens (`aud` = client id) and access tokens (no
 *   `aud`, `client_id` = client id) are accepted. Cognito only puts custom attributes such as
 *   `custom:userId` in ID tokens; access tokens carry them only when a pre token generation
 *   trigger adds them, otherwise they are refused for lacking the identity claims, except a
 *   client-credentials token whose `scope` holds `serviceScope`: a service's (see identityFromClaims).
 * - A host app's own issuer: any `iss` and `aud`, keys at `jwksUri` (default
 *   `<issuer>/.well-known/jwks.json`).
 * - A pinned key set, verified without touching the network: `jwks` without `jwksUri`, or a
 *   `file:` JWKS URI (read once, at creation). The local runtime uses it with its dev issuer,
 *   whose `iss` is not a URL: `AUTH_JWKS_URI=file://<data dir>/dev-issuer-jwks.json`.
 *
 * aws-jwt-verify downloads key sets over HTTPS only, so any other `jwksUri` is refused at creation.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JwtVerifier } from 'aws-jwt-verify';
import { FetchError, JwksValidationError, JwtExpiredError, JwtNotBeforeError, KidNotFoundInJwksError } from 'aws-jwt-verify/error';
import { SimpleJwksCache, assertIsJwks, type Jwks } from 'aws-jwt-verify/jwk';
import type { JwtHeader, JwtPayload } from 'aws-jwt-verify/jwt-model';
import { UnauthorizedError, UnavailableError, type ChatError } from '#core/errors';
import { identityFromClaims, type ClaimNames } from '#core/identity';
import type { Logger, TokenVerifier } from '#core/ports';

export interface JwtVerifierOptions {
  /** The expected `iss`. */
  issuer: string;
  /** The expected audience: matched against `aud`, or against `client_id` when a token has no `aud`. */
  audience: string | readonly string[];
  /**
   * Where the issuer publishes its keys (`https:`, or `file:` for a key set on disk); defaults
   * to `<issuer>/.well-known/jwks.json`.
   */
  jwksUri?: string;
  /** Where the identity lives in the claims (e.g. `custom:userId` in a Cognito pool). */
  claimNames: ClaimNames;
  /**
   * The scope that makes an access token a service's (`AUTH_SERVICE_SCOPE`): Cognito
   * client-credentials tokens carry `scope` and `client_id`, and no custom claims.
   */
  serviceScope?: string;
  /**
   * Keys to trust up front (`cacheJwks`). Without `jwksUri` they are the only keys: nothing is
   * ever fetched. With `jwksUri` they only save the first download.
   */
  jwks?: Jwks;
  /** Clock skew tolerated on `exp` and `nbf`, in seconds (default 0). */
  graceSeconds?: number;
  /** Told why a token was refused (the reason's class name, never the token). */
  logger?: Logger;
}

/**
 * How far in the future `iat` may be (on top of `graceSeconds`): issuers' clocks drift a little.
 * aws-jwt-verify never checks `iat`; a token issued later than that is refused as not valid yet.
 */
export const IAT_SKEW_SECONDS = 60;

/** The only algorithm accepted, whatever the key set holds. */
const ALGORITHM = 'RS256';
/** A cache key for a pinned key set; never fetched. */
const PINNED_JWKS_URI = 'https://jwks.invalid/pinned';

/** Thrown inside the library's custom check; becomes a plain "not valid" for the caller. */
class TokenRejected extends Error {
  override name = 'TokenRejected';
}

/** `iat` later than now (beyond the skew): answered like a token whose `nbf` has not come. */
class IssuedInFuture extends TokenRejected {
  override name = 'IssuedInFuture';
}

/** A fetcher for pinned key sets: an unknown `kid` is simply an unknown key. */
const offlineFetcher = {
  fetch: (): Promise<ArrayBuffer> => Promise.reject(new KidNotFoundInJwksError('No key with that kid is trusted')),
};

/**
 * A TokenVerifier for one issuer. Every refusal is an UnauthorizedError with a short, safe
 * message ("The token has expired", "The token is not valid", or which identity claim is
 * missing); a JWKS that cannot be downloaded is an UnavailableError, since the token may be fine.
 * @throws Error at creation when neither `jwksUri`, `jwks` nor a URL issuer says where keys are,
 * or when a `file:` key set cannot be read.
 */
export function makeJwtVerifier(options: JwtVerifierOptions): TokenVerifier {
  const { issuer, claimNames, serviceScope, jwks, graceSeconds = 0, logger } = options;
  const audiences: readonly string[] = typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (audiences.length === 0) throw new Error('The token audience must not be empty');
  const fromFile = options.jwksUri?.startsWith('file:') ? readJwksFile(options.jwksUri) : undefined;
  const trusted = fromFile ?? jwks;
  const pinned = fromFile !== undefined || (jwks !== undefined && options.jwksUri === undefined);
  const jwksUri = pinned ? PINNED_JWKS_URI : httpsJwksUri(options.jwksUri ?? defaultJwksUri(issuer));

  const verifier = JwtVerifier.create(
    {
      issuer,
      jwksUri,
      // Checked in customJwtCheck instead: Cognito access tokens carry the client id in
      // `client_id`, not `aud`, and the library only knows `aud`.
      audience: null,
      graceSeconds,
      customJwtCheck: ({ header, payload }: { header: JwtHeader; payload: JwtPayload }) => {
        if (header.alg !== ALGORITHM) throw new TokenRejected('unexpected algorithm');
        // aws-jwt-verify accepts a token without exp (it only checks one that is present).
        if (typeof payload.exp !== 'number') throw new TokenRejected('no exp claim');
        if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + graceSeconds + IAT_SKEW_SECONDS) {
          throw new IssuedInFuture('iat is in the future');
        }
        if (!audienceMatches(payload, audiences)) throw new TokenRejected('wrong audience');
      },
    },
    pinned ? { jwksCache: new SimpleJwksCache({ fetcher: offlineFetcher }) } : undefined,
  );
  if (trusted !== undefined) verifier.cacheJwks(trusted);

  return {
    async verify(token) {
      if (typeof token !== 'string' || token.length === 0) throw new UnauthorizedError('A token is required');
      let payload: JwtPayload;
      try {
        payload = await verifier.verify(token);
      } catch (error) {
        throw refusal(error, logger);
      }
      try {
        return { identity: identityFromClaims(payload, claimNames, { serviceScope }), expiresAt: (payload.exp as number) * 1000 };
      } catch (error) {
        logger?.info('Token refused', { reason: 'IdentityClaims' });
        throw error;
      }
    },
  };
}

function defaultJwksUri(issuer: string): string {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new Error(`The token issuer "${issuer}" is not a URL: give a JWKS URI or a key set`);
  }
  return new URL(`${url.pathname.replace(/\/$/, '')}/.well-known/jwks.json`, url).href;
}

function httpsJwksUri(uri: string): string {
  if (!uri.startsWith('https://')) throw new Error(`The JWKS URI must be https: or file:, not ${uri}`);
  return uri;
}

function readJwksFile(uri: string): Jwks {
  const path = fileURLToPath(uri);
  let jwks: unknown;
  try {
    jwks = JSON.parse(readFileSync(path, 'utf8'));
    assertIsJwks(jwks as Parameters<typeof assertIsJwks>[0]);
  } catch (error) {
    throw new Error(`Could not read a JWKS from ${path}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return jwks as Jwks;
}

function audienceMatches(payload: JwtPayload, audiences: readonly string[]): boolean {
  const { aud } = payload;
  if (aud === undefined) {
    const clientId = payload['client_id'];
    return typeof clientId === 'string' && audiences.includes(clientId);
  }
  const claimed = Array.isArray(aud) ? aud : [aud];
  return claimed.some((value) => typeof value === 'string' && audiences.includes(value));
}

function refusal(error: unknown, logger: Logger | undefined): ChatError {
  const reason = error instanceof Error ? error.name : typeof error;
  if (error instanceof FetchError || error instanceof JwksValidationError) {
    // The issuer's key set could not be read: our problem, not the caller's.
    logger?.error('Could not load the token issuer keys', { reason });
    return new UnavailableError('Tokens cannot be checked right now, try again shortly');
  }
  logger?.info('Token refused', { reason });
  if (error instanceof JwtExpiredError) return new UnauthorizedError('The token has expired');
  if (error instanceof JwtNotBeforeError || error instanceof IssuedInFuture) return new UnauthorizedError('The token is not valid yet');
  return new UnauthorizedError('The token is not valid');
}
