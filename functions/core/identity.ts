/**
 * Turns the claims of an already verified token into an Identity. Pure: no I/O, no crypto.
 *
 * Claims arrive as numbers (a host app's own tokens) or as strings: Cognito custom attributes
 * (`custom:userId`) are always strings, and API Gateway's JWT authorizer hands every claim to
 * Lambda as a string. Both spellings of an integer are accepted; anything else is refused.
 */
import { UnauthorizedError } from './errors.ts';
import { ROLES, SERVICE_USER_ID, type Identity, type Role } from './model.ts';

/** Which claims carry the user id, the role and the provider id (configurable per issuer). */
export interface ClaimNames {
  userId: string;
  role: string;
  providerId: string;
}

export const DEFAULT_CLAIM_NAMES: Readonly<ClaimNames> = Object.freeze({
  userId: 'userId',
  role: 'role',
  providerId: 'providerId',
});

/** Ids are Postgres `integer` columns. */
const MAX_ID = 2_147_483_647;
const DECIMAL_INTEGER = /^[1-9][0-9]{0,9}$/;

/** A positive integer id from a number or a plain decimal string ("42"), else null. */
export function parseIdClaim(value: unknown): number | null {
  let id: number;
  if (typeof value === 'number') {
    id = value;
  } else if (typeof value === 'string' && DECIMAL_INTEGER.test(value)) {
    id = Number(value);
  } else {
    return null;
  }
  return Number.isInteger(id) && id >= 1 && id <= MAX_ID ? id : null;
}

/** How service tokens are recognised beside the role claim. */
export interface ServiceRecognition {
  /**
   * An OAuth scope (`AUTH_SERVICE_SCOPE`, e.g. `chat/service`): a token whose `scope` claim (a
   * space-separated string, as in Cognito client-credentials access tokens) holds it is a
   * service's, whatever its other claims say. Unset: only the role claim makes a service.
   */
  serviceScope?: string;
}

/** Whether the token's `scope` claim (space-separated) holds `scope`. */
export function hasScope(claims: Record<string, unknown>, scope: string): boolean {
  const granted = claims['scope'];
  return typeof granted === 'string' && granted.split(' ').includes(scope);
}

/** The backend a service token names: `client_id` (Cognito's app client), else `sub`. */
function serviceIdOf(claims: Record<string, unknown>): string | undefined {
  for (const name of ['client_id', 'sub']) {
    const value = claims[name];
    if (typeof value === 'string' && value.length > 0) return value;
  }
  return undefined;
}

function serviceIdentity(userId: number, claims: Record<string, unknown>): Identity {
  const serviceId = serviceIdOf(claims);
  return serviceId === undefined ? { userId, role: 'service' } : { userId, role: 'service', serviceId };
}

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/**
 * The caller a verified token speaks for.
 *
 * - A token whose `scope` holds the configured service scope is a service's: its `userId` is
 *   the `userId` claim when that is a positive integer, else SERVICE_USER_ID (0); the role
 *   claim is not read.
 * - Otherwise `userId` must be a positive integer (number or decimal string).
 * - `role` must be `customer`, `provider`, `admin` or `service`.
 * - `providerId` is required for providers and ignored for everyone else.
 * - A service's `serviceId` is its `client_id` claim, else its `sub`.
 *
 * @throws UnauthorizedError naming the offending claim (never its value).
 */
export function identityFromClaims(claims: Record<string, unknown>, names: ClaimNames, recognition: ServiceRecognition = {}): Identity {
  if (recognition.serviceScope && hasScope(claims, recognition.serviceScope)) {
    return serviceIdentity(parseIdClaim(claims[names.userId]) ?? SERVICE_USER_ID, claims);
  }
  const userId = parseIdClaim(claims[names.userId]);
  if (userId === null) {
    throw new UnauthorizedError(`The token's "${names.userId}" claim must be a positive integer`);
  }
  const role = claims[names.role];
  if (!isRole(role)) {
    throw new UnauthorizedError(`The token's "${names.role}" claim must be one of ${ROLES.join(', ')}`);
  }
  if (role === 'service') return serviceIdentity(userId, claims);
  if (role !== 'provider') return { userId, role };

  const providerId = parseIdClaim(claims[names.providerId]);
  if (providerId === null) {
    throw new UnauthorizedError(`A provider token needs a "${names.providerId}" claim that is a positive integer`);
  }
  return { userId, role, providerId };
}
