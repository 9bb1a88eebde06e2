import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEV_AUDIENCE,
  DEV_ISSUER,
  DEV_JWKS_FILE,
  DEV_KEY_FILE,
  loadOrCreateDevIssuer,
  makeDevIssuerInMemory,
} from '#adapters/auth/dev-issuer';
import { makeJwtVerifier } from '#adapters/auth/jwt-verifier';
import { ValidationError } from '#core/errors';
import { DEFAULT_CLAIM_NAMES } from '#core/identity';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dev-issuer-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function decode(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header ?? '', 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>,
  };
}

describe('loadOrCreateDevIssuer', () => {
  it('keeps its key across reloads: a token signed before a reload verifies after it', async () => {
    const before = await loadOrCreateDevIssuer(dir);
    const token = before.sign({ userId: 7, role: 'provider', providerId: 1 });

    const after = await loadOrCreateDevIssuer(dir);
    expect(after.kid).toBe(before.kid);
    const verifier = makeJwtVerifier({
      issuer: after.issuer,
      audience: after.audience,
      jwks: after.jwks,
      claimNames: DEFAULT_CLAIM_NAMES,
    });
    await expect(verifier.verify(token)).resolves.toMatchObject({
      identity: { userId: 7, role: 'provider', providerId: 1 },
    });
  });

  it('keeps the private key readable by its owner only, and the public key set beside it', async () => {
    const issuer = await loadOrCreateDevIssuer(join(dir, 'nested', 'data'));
    const keyStat = await stat(join(dir, 'nested', 'data', DEV_KEY_FILE));
    expect(keyStat.mode & 0o777).toBe(0o600);
    const jwks = JSON.parse(await readFile(join(dir, 'nested', 'data', DEV_JWKS_FILE), 'utf8')) as unknown;
    expect(jwks).toEqual(issuer.jwks);
  });

  it('agrees on one key when two processes create it at once', async () => {
    const issuers = await Promise.all([loadOrCreateDevIssuer(dir), loadOrCreateDevIssuer(dir), loadOrCreateDevIssuer(dir)]);
    expect(new Set(issuers.map((issuer) => issuer.kid)).size).toBe(1);
  });

  it('says which file to delete when the key file is not a key', async () => {
    await writeFile(join(dir, DEV_KEY_FILE), 'not a key');
    await expect(loadOrCreateDevIssuer(dir)).rejects.toThrow(DEV_KEY_FILE);
  });
});

describe('DevIssuer.sign', () => {
  const issuer = makeDevIssuerInMemory();

  it('signs RS256 with kid, iss, aud, sub, iat, exp and the identity claims', () => {
    const now = Date.UTC(2030, 0, 1);
    const { header, payload } = decode(issuer.sign({ userId: 2, role: 'customer' }, { expiresInSeconds: 600, now }));
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: issuer.kid });
    expect(payload).toEqual({
      iss: DEV_ISSUER,
      aud: DEV_AUDIENCE,
      sub: '2',
      iat: now / 1000,
      exp: now / 1000 + 600,
      userId: 2,
      role: 'customer',
    });
  });

  it('lasts an hour by default', () => {
    const { payload } = decode(issuer.sign({ userId: 99, role: 'admin' }));
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
  });

  it('writes providerId for providers only', () => {
    expect(decode(issuer.sign({ userId: 7, role: 'provider', providerId: 1 })).payload.providerId).toBe(1);
    expect(decode(issuer.sign({ userId: 2, role: 'customer', providerId: 1 })).payload).not.toHaveProperty('providerId');
  });

  it('writes the identity under configured claim names', () => {
    const names = { userId: 'custom:userId', role: 'custom:role', providerId: 'custom:providerId' };
    const { payload } = decode(issuer.sign({ userId: 7, role: 'provider', providerId: 3 }, { claimNames: names }));
    expect(payload).toMatchObject({ 'custom:userId': 7, 'custom:role': 'provider', 'custom:providerId': 3 });
    expect(payload).not.toHaveProperty('userId');
  });

  it('refuses what the verifier would refuse, as validation errors', () => {
    expect(() => issuer.sign({ userId: 7, role: 'provider' })).toThrow(ValidationError);
    expect(() => issuer.sign({ userId: 0, role: 'customer' })).toThrow(ValidationError);
    expect(() => issuer.sign({ userId: 1, role: 'root' as 'admin' })).toThrow(ValidationError);
    expect(() => issuer.sign({ userId: 1, role: 'admin' }, { expiresInSeconds: 0 })).toThrow(ValidationError);
    expect(() => issuer.sign({ userId: 1, role: 'admin' }, { expiresInSeconds: 1.5 })).toThrow(ValidationError);
  });

  it('publishes only the public key', () => {
    expect(issuer.jwks.keys).toHaveLength(1);
    const [key] = issuer.jwks.keys;
    expect(Object.keys(key ?? {}).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: issuer.kid });
  });

  it('gives every in-memory issuer its own key', () => {
    expect(makeDevIssuerInMemory().kid).not.toBe(issuer.kid);
  });
});
