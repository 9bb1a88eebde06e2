/**
 * API Gateway's HTTP API JWT authorizer, emulated with aws-jwt-verify against a pinned key set
 * (the local issuer's JWKS; nothing is fetched).
 *
 * What API Gateway does, and so what this does:
 * - The identity source is `$request.header.Authorization`; the token may carry a `Bearer ` prefix.
 * - It checks the signature (RS256, `kid` in the JWKS), `iss`, `aud` (or `client_id` when there is
 *   no `aud`), `exp` (required: a token without one is refused), `nbf` and `iat` (must not be in the
 *   future). aws-jwt-verify alone would accept a token without `exp` and ignores `iat`, so both
 *   are checked here.
 * - A missing or failing token answers `401 {"message":"Unauthorized"}`; a failing one also gets a
 *   `www-authenticate: Bearer scope="" error="invalid_token" error_description="…"` header. The
 *   handler is not invoked, so the contract's own error shape never appears on these 401s.
 * - The handler receives `requestContext.authorizer.jwt = { claims, scopes }` where every claim
 *   value is a STRING: numbers and booleans as their text (`"userId": "7"`), arrays as
 *   `[a b c]` and objects as `map[k:v]` (Go's formatting, which API Gateway uses). `scopes` is the
 *   split `scope` (or `scp`) claim, or null when the token has none.
 */
import { JwtVerifier } from 'aws-jwt-verify';
import {
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  JwtParseError,
  KidNotFoundInJwksError,
  JwtWithoutValidKidError,
} from 'aws-jwt-verify/error';
import type { Jwks } from 'aws-jwt-verify/jwk';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';

export interface JwtAuthorizerConfig {
  issuer: string;
  /** The authorizer's audience list (API Gateway allows several). */
  audience: string | readonly string[];
  /** The issuer's public keys. */
  jwks: Jwks;
}

export interface JwtAuthorization {
  claims: Record<string, string>;
  scopes: string[] | null;
}

export type AuthorizerDecision =
  | { allowed: true; jwt: JwtAuthorization }
  | { allowed: false; wwwAuthenticate?: string };

export interface JwtAuthorizer {
  authorize(authorizationHeader: string | undefined): AuthorizerDecision;
}

/** Never contacted: the keys are pinned with cacheJwks and verification is synchronous. */
const PINNED_JWKS_URI = 'https://local.invalid/.well-known/jwks.json';

export function createJwtAuthorizer(config: JwtAuthorizerConfig): JwtAuthorizer {
  const audiences = typeof config.audience === 'string' ? [config.audience] : [...config.audience];
  const verifier = JwtVerifier.create({ issuer: config.issuer, audience: null, jwksUri: PINNED_JWKS_URI });
  verifier.cacheJwks(config.jwks);

  return {
    authorize(header) {
      const token = header?.replace(/^Bearer\s+/i, '').trim();
      if (!token) return { allowed: false };
      let payload: JwtPayload;
      try {
        payload = verifier.verifySync(token);
        checkAudience(payload, audiences);
        checkTimes(payload, Date.now());
      } catch (error) {
        return { allowed: false, wwwAuthenticate: `Bearer scope="" error="invalid_token" error_description="${describe(error)}"` };
      }
      return { allowed: true, jwt: { claims: stringifyClaims(payload), scopes: scopesOf(payload) } };
    },
  };
}

class AudienceError extends Error {}
class MissingExpiryError extends Error {}
class IssuedInFutureError extends Error {}

/** API Gateway requires `exp`, and refuses an `iat` after the current time. */
function checkTimes(payload: JwtPayload, nowMs: number): void {
  if (typeof payload.exp !== 'number') throw new MissingExpiryError();
  if (typeof payload.iat === 'number' && payload.iat > nowMs / 1000) throw new IssuedInFutureError();
}

/** `aud` must name one of the audiences; without `aud`, `client_id` must. */
function checkAudience(payload: JwtPayload, audiences: string[]): void {
  const aud = payload.aud;
  const presented = aud === undefined ? [payload.client_id] : Array.isArray(aud) ? aud : [aud];
  if (!presented.some((value) => typeof value === 'string' && audiences.includes(value))) {
    throw new AudienceError();
  }
}

function describe(error: unknown): string {
  if (error instanceof JwtExpiredError) return 'the token has expired';
  if (error instanceof JwtNotBeforeError) return 'the token is not valid yet';
  if (error instanceof MissingExpiryError) return 'the token has no expiry';
  if (error instanceof IssuedInFutureError) return 'the token was issued in the future';
  if (error instanceof AudienceError || error instanceof JwtInvalidAudienceError) return 'the token does not have a valid audience';
  if (error instanceof JwtInvalidIssuerError) return 'the token does not have a valid issuer';
  if (
    error instanceof JwtInvalidSignatureError ||
    error instanceof JwtInvalidSignatureAlgorithmError ||
    error instanceof KidNotFoundInJwksError ||
    error instanceof JwtWithoutValidKidError
  ) {
    return 'the token signature is invalid';
  }
  if (error instanceof JwtParseError) return 'the token is malformed';
  return 'the token is invalid';
}

/** A claim value as API Gateway hands it to Lambda: always a string. */
export function stringifyClaim(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(stringifyClaim).join(' ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([key, inner]) => `${key}:${stringifyClaim(inner)}`).join(' ')}]`;
  }
  return String(value);
}

export function stringifyClaims(payload: JwtPayload): Record<string, string> {
  return Object.fromEntries(Object.entries(payload).map(([name, value]) => [name, stringifyClaim(value)]));
}

function scopesOf(payload: JwtPayload): string[] | null {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === 'string') return raw.split(' ').filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((scope): scope is string => typeof scope === 'string');
  return null;
}
