/**
 * Tokens without `exp`, or issued in the future: refused by the local HTTP API's JWT authorizer
 * (as API Gateway's is) and by the product's verifier on the WebSocket connect/authenticate path
 * (aws-jwt-verify alone accepts both).
 */
import { describe, expect, it } from 'vitest';
import { makeDevIssuerInMemory } from '#adapters/auth/dev-issuer';
import { IAT_SKEW_SECONDS, makeJwtVerifier } from '#adapters/auth/jwt-verifier';
import { UnauthorizedError } from '#core/errors';
import { DEFAULT_CLAIM_NAMES } from '#core/identity';
import { createJwtAuthorizer } from '#lib/local/jwt-authorizer';

const issuer = makeDevIssuerInMemory();
const subject = { userId: 2, role: 'customer' as const };
const nowSeconds = () => Math.floor(Date.now() / 1000);

const authorizer = createJwtAuthorizer({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks });
const verifier = makeJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks, claimNames: DEFAULT_CLAIM_NAMES });

const noExp = () => issuer.sign(subject, { claims: { exp: undefined } });
const issuedIn = (seconds: number) => issuer.sign(subject, { claims: { iat: nowSeconds() + seconds, exp: nowSeconds() + 3600 } });

describe('local HTTP JWT authorizer: exp and iat', () => {
  it('refuses a token without exp', () => {
    const decision = authorizer.authorize(`Bearer ${noExp()}`);
    expect(decision).toEqual({
      allowed: false,
      wwwAuthenticate: 'Bearer scope="" error="invalid_token" error_description="the token has no expiry"',
    });
  });

  it('refuses a token issued in the future', () => {
    const decision = authorizer.authorize(`Bearer ${issuedIn(120)}`);
    expect(decision).toEqual({
      allowed: false,
      wwwAuthenticate: 'Bearer scope="" error="invalid_token" error_description="the token was issued in the future"',
    });
    expect(authorizer.authorize(`Bearer ${issuedIn(5)}`).allowed).toBe(false);
  });

  it('still accepts a token issued now or earlier, and one without iat', () => {
    expect(authorizer.authorize(`Bearer ${issuer.sign(subject)}`).allowed).toBe(true);
    expect(authorizer.authorize(`Bearer ${issuedIn(-600)}`).allowed).toBe(true);
    expect(authorizer.authorize(`Bearer ${issuer.sign(subject, { claims: { iat: undefined } })}`).allowed).toBe(true);
  });
});

describe('WebSocket token verifier (aws-jwt-verify): exp and iat', () => {
  it('refuses a token without exp', async () => {
    const refusal = await verifier.verify(noExp()).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(UnauthorizedError);
    expect((refusal as Error).message).toBe('The token is not valid');
  });

  it('refuses a token issued in the future beyond the clock skew', async () => {
    const refusal = await verifier.verify(issuedIn(IAT_SKEW_SECONDS + 120)).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(UnauthorizedError);
    expect((refusal as Error).message).toBe('The token is not valid yet');
  });

  it('tolerates an iat a few seconds ahead (issuers’ clocks drift), and a token issued earlier', async () => {
    await expect(verifier.verify(issuedIn(5))).resolves.toMatchObject({ identity: subject });
    await expect(verifier.verify(issuedIn(-600))).resolves.toMatchObject({ identity: subject });
  });
});
