import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '#core/errors';
import { DEFAULT_CLAIM_NAMES, hasScope, identityFromClaims, parseIdClaim } from '#core/identity';
import { SERVICE_USER_ID } from '#core/model';

const names = DEFAULT_CLAIM_NAMES;
const cognito = { userId: 'custom:userId', role: 'custom:role', providerId: 'custom:providerId' };

function refusal(claims: Record<string, unknown>, claimNames = names): UnauthorizedError {
  try {
    identityFromClaims(claims, claimNames);
  } catch (error) {
    expect(error).toBeInstanceOf(UnauthorizedError);
    return error as UnauthorizedError;
  }
  throw new Error('expected the claims to be refused');
}

describe('identityFromClaims', () => {
  it('reads a customer, a provider and an admin from numeric claims', () => {
    expect(identityFromClaims({ userId: 2, role: 'customer' }, names)).toEqual({ userId: 2, role: 'customer' });
    expect(identityFromClaims({ userId: 7, role: 'provider', providerId: 1 }, names)).toEqual({
      userId: 7,
      role: 'provider',
      providerId: 1,
    });
    expect(identityFromClaims({ userId: 99, role: 'admin' }, names)).toEqual({ userId: 99, role: 'admin' });
  });

  it('accepts integer strings, as Cognito custom attributes and the API Gateway authorizer pass them', () => {
    expect(identityFromClaims({ 'custom:userId': '7', 'custom:role': 'provider', 'custom:providerId': '12' }, cognito)).toEqual({
      userId: 7,
      role: 'provider',
      providerId: 12,
    });
  });

  it('ignores a providerId on customers and admins', () => {
    expect(identityFromClaims({ userId: 2, role: 'customer', providerId: 5 }, names)).toEqual({ userId: 2, role: 'customer' });
    expect(identityFromClaims({ userId: 3, role: 'admin', providerId: 'junk' }, names)).toEqual({ userId: 3, role: 'admin' });
  });

  it('refuses a provider without a usable providerId, naming the claim', () => {
    expect(refusal({ userId: 7, role: 'provider' }).message).toContain('"providerId"');
    expect(refusal({ userId: 7, role: 'provider', providerId: '0' }).message).toContain('"providerId"');
    expect(refusal({ 'custom:userId': '7', 'custom:role': 'provider' }, cognito).message).toContain('"custom:providerId"');
  });

  it.each([
    ['missing', undefined],
    ['null', null],
    ['zero', 0],
    ['negative', -4],
    ['a fraction', 1.5],
    ['a fractional string', '1.5'],
    ['a signed string', '+3'],
    ['a padded string', ' 3'],
    ['a leading-zero string', '03'],
    ['exponent notation', '2e3'],
    ['hex', '0x10'],
    ['an empty string', ''],
    ['beyond a Postgres integer', 2_147_483_648],
    ['a huge string', '99999999999999999999'],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a boolean', true],
    ['an array', [3]],
    ['an object', { id: 3 }],
  ])('refuses a userId that is %s', (_what, userId) => {
    const error = refusal({ userId, role: 'customer' });
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.message).toBe('The token\'s "userId" claim must be a positive integer');
  });

  it.each([['Admin'], ['superuser'], [''], [undefined], [1], [['admin']]])('refuses the role %j', (role) => {
    expect(refusal({ userId: 1, role }).message).toBe('The token\'s "role" claim must be one of customer, provider, admin, service');
  });

  it('accepts the largest Postgres integer', () => {
    expect(identityFromClaims({ userId: '2147483647', role: 'customer' }, names).userId).toBe(2_147_483_647);
  });

  it('never puts a claim value in its message', () => {
    expect(refusal({ userId: 'secret-value', role: 'customer' }).message).not.toContain('secret-value');
    expect(refusal({ userId: 1, role: 'secret-role' }).message).not.toContain('secret-role');
  });
});

describe('service identities', () => {
  const scope = { serviceScope: 'chat/service' };

  it('reads a service from the role claim, its serviceId from client_id or sub', () => {
    expect(identityFromClaims({ userId: 1000, role: 'service', sub: '1000' }, names)).toEqual({ userId: 1000, role: 'service', serviceId: '1000' });
    expect(identityFromClaims({ userId: '1000', role: 'service', client_id: 'bookings', sub: 'x' }, names)).toEqual({ userId: 1000, role: 'service', serviceId: 'bookings' });
    expect(identityFromClaims({ userId: 5, role: 'service' }, names)).toEqual({ userId: 5, role: 'service' });
    expect(identityFromClaims({ userId: 5, role: 'service', providerId: 3 }, names)).not.toHaveProperty('providerId');
  });

  it('still needs a userId when the role claim makes the service', () => {
    expect(refusal({ role: 'service', client_id: 'bookings' }).message).toContain('"userId"');
  });

  it('reads a client-credentials access token by its scope: no custom claims, userId SERVICE_USER_ID', () => {
    const token = { sub: 'abc123', client_id: 'abc123', token_use: 'access', scope: 'chat/other chat/service' };
    expect(identityFromClaims(token, cognito, scope)).toEqual({ userId: SERVICE_USER_ID, role: 'service', serviceId: 'abc123' });
    expect(SERVICE_USER_ID).toBe(0);
    // A userId claim, when there is one, is kept.
    expect(identityFromClaims({ ...token, 'custom:userId': '1000' }, cognito, scope)).toMatchObject({ userId: 1000, role: 'service' });
  });

  it('lets the scope win over any role claim', () => {
    expect(identityFromClaims({ userId: 2, role: 'customer', scope: 'chat/service', client_id: 'c' }, names, scope)).toEqual({ userId: 2, role: 'service', serviceId: 'c' });
  });

  it('matches whole scopes only, and only when a service scope is configured', () => {
    for (const granted of ['chat/services', 'chat', 'xchat/service', 'chat/service/x', '', undefined, ['chat/service']]) {
      expect(refusal({ client_id: 'c', scope: granted }, names).code).toBe('UNAUTHORIZED');
      expect(() => identityFromClaims({ client_id: 'c', scope: granted }, names, scope)).toThrow(UnauthorizedError);
    }
    expect(refusal({ client_id: 'c', scope: 'chat/service' }, names).message).toContain('"userId"');
    expect(hasScope({ scope: 'a chat/service b' }, 'chat/service')).toBe(true);
    expect(hasScope({ scope: 'a b' }, 'chat/service')).toBe(false);
  });
});

describe('parseIdClaim', () => {
  it('accepts positive integers as numbers or plain decimal strings', () => {
    expect(parseIdClaim(1)).toBe(1);
    expect(parseIdClaim('42')).toBe(42);
    expect(parseIdClaim(42.0)).toBe(42);
    expect(parseIdClaim('42.0')).toBeNull();
  });
});
