import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '#core/errors';
import { DEFAULT_CLAIM_NAMES, identityFromClaims, parseIdClaim } from '#core/identity';

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
    expect(refusal({ userId: 1, role }).message).toBe('The token\'s "role" claim must be one of customer, provider, admin');
  });

  it('accepts the largest Postgres integer', () => {
    expect(identityFromClaims({ userId: '2147483647', role: 'customer' }, names).userId).toBe(2_147_483_647);
  });

  it('never puts a claim value in its message', () => {
    expect(refusal({ userId: 'secret-value', role: 'customer' }).message).not.toContain('secret-value');
    expect(refusal({ userId: 1, role: 'secret-role' }).message).not.toContain('secret-role');
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
