/**
 * The local runtime's token issuer: an RSA key pair that signs RS256 JWTs for `POST /dev/token`
 * and for tests. Uses node:crypto only.
 *
 * The issuer and audience are fixed strings (not the runtime's URL, whose port can change), so a
 * token stays valid across restarts as long as the key does: `loadOrCreateDevIssuer` keeps the
 * key in the runtime's data directory.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Jwks } from 'aws-jwt-verify/jwk';
import { ValidationError } from '#core/errors';
import { DEFAULT_CLAIM_NAMES, type ClaimNames } from '#core/identity';
import { ROLES, type Role } from '#core/model';

/** The `iss` of every local token. Set AUTH_ISSUER to this when running locally. */
export const DEV_ISSUER = 'provider-customer-chat-local';
/** The `aud` of every local token. Set AUTH_AUDIENCE to this when running locally. */
export const DEV_AUDIENCE = 'provider-customer-chat';

/** Files kept in the data directory. The private key is readable by its owner only. */
export const DEV_KEY_FILE = 'dev-issuer-key.pem';
export const DEV_JWKS_FILE = 'dev-issuer-jwks.json';

export interface DevTokenSubject {
  userId: number;
  role: Role;
  /** Required for providers; ignored for other roles. */
  providerId?: number;
}

export interface DevSignOptions {
  /** Lifetime of the token; 3600 by default. */
  expiresInSeconds?: number;
  /** Claim names to write the subject under (defaults: userId, role, providerId). */
  claimNames?: ClaimNames;
  /** Issue time (epoch ms); now by default. Tests use it to mint expired tokens. */
  now?: number;
  /** Extra claims, written last: they may override any standard claim (iss, aud, exp…). */
  claims?: Record<string, unknown>;
}

export interface DevIssuer {
  readonly issuer: string;
  readonly audience: string;
  /** The key id in every token's header (the RFC 7638 thumbprint of the public key). */
  readonly kid: string;
  /** The public key set, to hand to the verifier (`cacheJwks`) or serve as JSON. */
  readonly jwks: Jwks;
  /** Signs an RS256 JWT with `kid`, `iss`, `aud`, `sub`, `iat`, `exp` and the subject's claims. */
  sign(subject: DevTokenSubject, options?: DevSignOptions): string;
}

const RSA_KEY = { modulusLength: 2048, publicExponent: 0x10001 } as const;

/**
 * The issuer whose private key lives in `dir`, creating the key on first use. Concurrent first
 * calls (two processes on one data directory) agree on one key: the file is published with an
 * atomic link, and the loser reads the winner's key.
 */
export async function loadOrCreateDevIssuer(dir: string): Promise<DevIssuer> {
  await mkdir(dir, { recursive: true });
  const keyPath = join(dir, DEV_KEY_FILE);
  let pem = await readIfExists(keyPath);
  if (pem === null) {
    const { privateKey } = await promisify(generateKeyPair)('rsa', RSA_KEY);
    const fresh = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const temporary = `${keyPath}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temporary, fresh, { mode: 0o600 });
    try {
      await link(temporary, keyPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await rm(temporary, { force: true });
    }
    pem = await readFile(keyPath, 'utf8');
  }

  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new Error(`${keyPath} is not a PEM private key; delete it to create a new dev issuer key`);
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw new Error(`${keyPath} is not an RSA key; delete it to create a new dev issuer key`);
  }
  const issuer = makeDevIssuer(privateKey);
  // For people and tools (e.g. a JWKS endpoint); the issuer itself always derives it from the key.
  await writeFile(join(dir, DEV_JWKS_FILE), `${JSON.stringify(issuer.jwks, null, 2)}\n`);
  return issuer;
}

/** An issuer with a fresh key that lives only in memory (tests). */
export function makeDevIssuerInMemory(): DevIssuer {
  const { privateKey } = generateKeyPairSync('rsa', RSA_KEY);
  return makeDevIssuer(privateKey);
}

/** An issuer around an existing RSA private key. */
export function makeDevIssuer(privateKey: KeyObject): DevIssuer {
  const exported = createPublicKey(privateKey).export({ format: 'jwk' });
  const n = String(exported.n);
  const e = String(exported.e);
  const kid = thumbprint({ e, kty: 'RSA', n });
  const jwks: Jwks = { keys: [{ kty: 'RSA', alg: 'RS256', use: 'sig', kid, n, e }] };

  return {
    issuer: DEV_ISSUER,
    audience: DEV_AUDIENCE,
    kid,
    jwks,
    sign(subject, options = {}) {
      const { expiresInSeconds = 3600, claimNames = DEFAULT_CLAIM_NAMES, now = Date.now(), claims = {} } = options;
      checkSubject(subject);
      if (!Number.isInteger(expiresInSeconds) || expiresInSeconds <= 0) {
        throw new ValidationError('expiresIn must be a positive number of seconds');
      }
      const iat = Math.floor(now / 1000);
      const payload: Record<string, unknown> = {
        iss: DEV_ISSUER,
        aud: DEV_AUDIENCE,
        sub: String(subject.userId),
        iat,
        exp: iat + expiresInSeconds,
        [claimNames.userId]: subject.userId,
        [claimNames.role]: subject.role,
        ...(subject.role === 'provider' ? { [claimNames.providerId]: subject.providerId } : {}),
        ...claims,
      };
      const header = { alg: 'RS256', typ: 'JWT', kid };
      const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
      const signature = cryptoSign('sha256', Buffer.from(signingInput), privateKey);
      return `${signingInput}.${signature.toString('base64url')}`;
    },
  };
}

function checkSubject(subject: DevTokenSubject): void {
  const isId = (value: unknown) => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 2_147_483_647;
  if (!isId(subject.userId)) throw new ValidationError('userId must be a positive integer');
  if (!(ROLES as readonly string[]).includes(subject.role)) {
    throw new ValidationError(`role must be one of ${ROLES.join(', ')}`);
  }
  if (subject.role === 'provider' && !isId(subject.providerId)) {
    throw new ValidationError('providerId (a positive integer) is required for a provider');
  }
}

/** RFC 7638: SHA-256 over the required members in lexicographic order, base64url. */
function thumbprint(members: { e: string; kty: 'RSA'; n: string }): string {
  const canonical = JSON.stringify({ e: members.e, kty: members.kty, n: members.n });
  return createHash('sha256').update(canonical).digest('base64url');
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
