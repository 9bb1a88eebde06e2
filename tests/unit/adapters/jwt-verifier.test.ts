import { createHmac, createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEV_JWKS_FILE, loadOrCreateDevIssuer, makeDevIssuer, makeDevIssuerInMemory } from '#adapters/auth/dev-issuer';
import { makeJwtVerifier, type JwtVerifierOptions } from '#adapters/auth/jwt-verifier';
import { UnauthorizedError, UnavailableError } from '#core/errors';
import { DEFAULT_CLAIM_NAMES } from '#core/identity';
import type { Logger } from '#core/ports';

const issuer = makeDevIssuerInMemory();
const HOUR = 3600 * 1000;

function verifierFor(overrides: Partial<JwtVerifierOptions> = {}) {
  return makeJwtVerifier({
    issuer: issuer.issuer,
    audience: issuer.audience,
    jwks: issuer.jwks,
    claimNames: DEFAULT_CLAIM_NAMES,
    ...overrides,
  });
}

const verifier = verifierFor();

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token built by hand, signed RS256 with any key. */
function forge(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function validPayload(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return { iss: issuer.issuer, aud: issuer.audience, sub: '2', iat, exp: iat + 600, userId: 2, role: 'customer', ...extra };
}

async function refusal(token: string, using = verifier): Promise<UnauthorizedError> {
  const error = await using.verify(token).then(
    () => {
      throw new Error('expected the token to be refused');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UnauthorizedError);
  return error as UnauthorizedError;
}

const SAFE_MESSAGES = ['The token is not valid', 'The token has expired', 'The token is not valid yet', 'A token is required'];

describe('JWT verifier', () => {
  it('returns the identity and when the token expires', async () => {
    const now = Date.now();
    const token = issuer.sign({ userId: 7, role: 'provider', providerId: 1 }, { now, expiresInSeconds: 900 });
    const result = await verifier.verify(token);
    expect(result.identity).toEqual({ userId: 7, role: 'provider', providerId: 1 });
    expect(result.expiresAt).toBe((Math.floor(now / 1000) + 900) * 1000);
  });

  it('verifies customers and admins', async () => {
    await expect(verifier.verify(issuer.sign({ userId: 2, role: 'customer' }))).resolves.toMatchObject({
      identity: { userId: 2, role: 'customer' },
    });
    await expect(verifier.verify(issuer.sign({ userId: 99, role: 'admin' }))).resolves.toMatchObject({
      identity: { userId: 99, role: 'admin' },
    });
  });

  it('refuses an expired token, saying so', async () => {
    const token = issuer.sign({ userId: 2, role: 'customer' }, { now: Date.now() - 2 * HOUR, expiresInSeconds: 3600 });
    expect((await refusal(token)).message).toBe('The token has expired');
  });

  it('tolerates configured clock skew on exp', async () => {
    const token = issuer.sign({ userId: 2, role: 'customer' }, { now: Date.now() - 3610_000, expiresInSeconds: 3600 });
    await refusal(token);
    await expect(verifierFor({ graceSeconds: 60 }).verify(token)).resolves.toBeDefined();
  });

  it('refuses a token that is not valid yet', async () => {
    const token = issuer.sign({ userId: 2, role: 'customer' }, { claims: { nbf: Math.floor(Date.now() / 1000) + 600 } });
    expect((await refusal(token)).message).toBe('The token is not valid yet');
  });

  it('refuses a token for another audience', async () => {
    expect((await refusal(issuer.sign({ userId: 2, role: 'customer' }, { claims: { aud: 'another-app' } }))).message).toBe(
      'The token is not valid',
    );
    await refusal(issuer.sign({ userId: 2, role: 'customer' }, { claims: { aud: [] } }));
  });

  it('accepts an audience list that contains ours, and a verifier with several audiences', async () => {
    await expect(
      verifier.verify(issuer.sign({ userId: 2, role: 'customer' }, { claims: { aud: ['another-app', issuer.audience] } })),
    ).resolves.toBeDefined();
    const several = verifierFor({ audience: ['web-client', 'mobile-client'] });
    await expect(several.verify(issuer.sign({ userId: 2, role: 'customer' }, { claims: { aud: 'mobile-client' } }))).resolves.toBeDefined();
  });

  it('accepts a Cognito access token, whose client id is in client_id and which has no aud', async () => {
    const access = issuer.sign(
      { userId: 2, role: 'customer' },
      { claims: { aud: undefined, client_id: issuer.audience, token_use: 'access' } },
    );
    await expect(verifier.verify(access)).resolves.toMatchObject({ identity: { userId: 2 } });

    await refusal(issuer.sign({ userId: 2, role: 'customer' }, { claims: { aud: undefined, client_id: 'another-client' } }));
    await refusal(issuer.sign({ userId: 2, role: 'customer' }, { claims: { aud: undefined } }));
    // An aud that does not match is not rescued by a matching client_id.
    await refusal(issuer.sign({ userId: 2, role: 'customer' }, { claims: { aud: 'another-app', client_id: issuer.audience } }));
  });

  it('reads a client-credentials access token with the service scope as a service, and refuses it without the setting', async () => {
    // What Cognito issues for client credentials: no custom claims, the scope, the client id.
    const access = issuer.sign(
      { userId: 1, role: 'customer' },
      { claims: { aud: undefined, userId: undefined, role: undefined, sub: issuer.audience, client_id: issuer.audience, token_use: 'access', scope: 'chat/service' } },
    );
    await expect(verifierFor({ serviceScope: 'chat/service' }).verify(access)).resolves.toMatchObject({
      identity: { userId: 0, role: 'service', serviceId: issuer.audience },
    });
    await refusal(access);
    await expect(verifierFor({ serviceScope: 'chat/other' }).verify(access)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('refuses a token from another issuer', async () => {
    await refusal(issuer.sign({ userId: 2, role: 'customer' }, { claims: { iss: 'https://evil.example' } }));
    await refusal(issuer.sign({ userId: 2, role: 'customer' }, { claims: { iss: undefined } }));
  });

  it('refuses a token signed by another key, whether its kid is unknown or borrowed', async () => {
    const stranger = makeDevIssuerInMemory();
    await refusal(stranger.sign({ userId: 2, role: 'customer' }));

    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await refusal(forge({ alg: 'RS256', typ: 'JWT', kid: issuer.kid }, validPayload(), privateKey));
    // Same key material wrapped as another issuer object: still a foreign key.
    await refusal(makeDevIssuer(privateKey).sign({ userId: 2, role: 'customer' }));
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const [header, , signature] = issuer.sign({ userId: 2, role: 'customer' }).split('.');
    await refusal(`${header}.${b64(validPayload({ userId: 99, role: 'admin' }))}.${signature}`);
  });

  it('refuses alg "none"', async () => {
    const header = b64({ alg: 'none', typ: 'JWT', kid: issuer.kid });
    await refusal(`${header}.${b64(validPayload())}.`);
    await refusal(`${header}.${b64(validPayload())}.c2lnbmF0dXJl`);
  });

  it('refuses HS256 signed with the public key as the secret', async () => {
    const publicPem = createPublicKey({ key: issuer.jwks.keys[0] as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: issuer.kid })}.${b64(validPayload())}`;
    const signature = createHmac('sha256', publicPem).update(input).digest('base64url');
    await refusal(`${input}.${signature}`);
  });

  it('refuses another RSA algorithm, RS256 only', async () => {
    // A key published without `alg`, so the library itself would accept RS512.
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' };
    const open = verifierFor({ jwks: { keys: [jwk as never] } });
    const input = `${b64({ alg: 'RS512', typ: 'JWT', kid: 'k1' })}.${b64(validPayload())}`;
    const rs512 = `${input}.${cryptoSign('sha512', Buffer.from(input), privateKey).toString('base64url')}`;
    await refusal(rs512, open);
    await expect(open.verify(forge({ alg: 'RS256', kid: 'k1' }, validPayload(), privateKey))).resolves.toBeDefined();
  });

  it('refuses a token without exp', async () => {
    await refusal(issuer.sign({ userId: 2, role: 'customer' }, { claims: { exp: undefined } }));
  });

  it.each([
    ['an empty string', ''],
    ['garbage', 'garbage'],
    ['three dots of nothing', '..'],
    ['base64 that is not JSON', 'aGVsbG8.d29ybGQ.c2ln'],
    ['a JSON array header', `${b64([1])}.${b64(validPayload())}.c2ln`],
    ['a bearer prefix', `Bearer ${issuer.sign({ userId: 2, role: 'customer' })}`],
  ])('refuses %s without leaking why', async (_what, token) => {
    const error = await refusal(token);
    expect(SAFE_MESSAGES).toContain(error.message);
  });

  it('refuses a token without kid', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await refusal(forge({ alg: 'RS256', typ: 'JWT' }, validPayload(), privateKey));
  });

  it('reads the identity from configured claim names, as strings', async () => {
    const names = { userId: 'custom:userId', role: 'custom:role', providerId: 'custom:providerId' };
    const cognitoStyle = verifierFor({ claimNames: names });
    const token = issuer.sign(
      { userId: 7, role: 'provider', providerId: 3 },
      { claimNames: names, claims: { 'custom:userId': '7', 'custom:providerId': '3', token_use: 'id' } },
    );
    await expect(cognitoStyle.verify(token)).resolves.toMatchObject({ identity: { userId: 7, role: 'provider', providerId: 3 } });
    // The default names are absent from that token.
    expect((await refusal(token)).message).toContain('"userId"');
  });

  it('refuses a genuine token whose identity claims are unusable, naming the claim', async () => {
    const token = issuer.sign({ userId: 7, role: 'provider', providerId: 1 }, { claims: { providerId: undefined } });
    expect((await refusal(token)).message).toContain('"providerId"');
  });

  it('logs the reason of a refusal, never the token', async () => {
    const lines: unknown[] = [];
    const logger: Logger = { info: (...args) => lines.push(args), warn: (...args) => lines.push(args), error: (...args) => lines.push(args) };
    const token = issuer.sign({ userId: 2, role: 'customer' }, { claims: { aud: 'x' } });
    await refusal(token, verifierFor({ logger }));
    expect(lines).toEqual([['Token refused', { reason: 'TokenRejected' }]]);
    expect(JSON.stringify(lines)).not.toContain(token);
  });
});

describe('JWT verifier key sources', () => {
  it('reads a pinned key set from a file: JWKS URI', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jwks-'));
    try {
      const local = await loadOrCreateDevIssuer(dir);
      const fromFile = makeJwtVerifier({
        issuer: local.issuer,
        audience: local.audience,
        jwksUri: pathToFileURL(join(dir, DEV_JWKS_FILE)).href,
        claimNames: DEFAULT_CLAIM_NAMES,
      });
      await expect(fromFile.verify(local.sign({ userId: 2, role: 'customer' }))).resolves.toMatchObject({ identity: { userId: 2 } });
      await refusal(issuer.sign({ userId: 2, role: 'customer' }), fromFile);
      expect(() =>
        makeJwtVerifier({ ...{ issuer: 'x', audience: 'y', claimNames: DEFAULT_CLAIM_NAMES }, jwksUri: pathToFileURL(join(dir, 'missing.json')).href }),
      ).toThrow(/Could not read a JWKS/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('derives the JWKS URI of a URL issuer, as Cognito publishes it', () => {
    expect(() =>
      makeJwtVerifier({
        issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123',
        audience: 'client-id',
        claimNames: DEFAULT_CLAIM_NAMES,
      }),
    ).not.toThrow();
  });

  it('refuses at creation to guess where the keys of a non-URL issuer are', () => {
    expect(() => makeJwtVerifier({ issuer: 'provider-customer-chat-local', audience: 'a', claimNames: DEFAULT_CLAIM_NAMES })).toThrow(
      /not a URL/,
    );
    expect(() =>
      makeJwtVerifier({ issuer: 'x', audience: 'a', jwksUri: 'http://127.0.0.1/jwks.json', claimNames: DEFAULT_CLAIM_NAMES }),
    ).toThrow(/https: or file:/);
    expect(() => makeJwtVerifier({ issuer: 'https://x', audience: [], claimNames: DEFAULT_CLAIM_NAMES })).toThrow(/audience/);
  });

  it('answers unavailable, not unauthorized, when the issuer keys cannot be downloaded', async () => {
    const unreachable = makeJwtVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUri: 'https://127.0.0.1:1/.well-known/jwks.json',
      claimNames: DEFAULT_CLAIM_NAMES,
    });
    await expect(unreachable.verify(issuer.sign({ userId: 2, role: 'customer' }))).rejects.toBeInstanceOf(UnavailableError);
  });

  it('uses a given key set before fetching, when both are configured', async () => {
    const primed = verifierFor({ jwksUri: 'https://127.0.0.1:1/.well-known/jwks.json' });
    await expect(primed.verify(issuer.sign({ userId: 2, role: 'customer' }))).resolves.toBeDefined();
  });
});
