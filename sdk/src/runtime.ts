/**
 * The few globals the client needs, reached through `globalThis` so the core compiles without
 * Node's or the DOM's type libraries and runs in browsers, React Native and Node alike.
 */
export type TimerId = unknown;

interface Globals {
  setTimeout(callback: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
  atob?(data: string): string;
  crypto?: { randomUUID?(): string; getRandomValues?<T extends Uint8Array>(array: T): T };
}

const g = globalThis as unknown as Globals;

/** Timers the client uses; injectable for tests. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => g.setTimeout(callback, ms),
  clearTimeout: (id) => g.clearTimeout(id),
};

/** A random id for a `clientMessageId` or a `requestId`: a UUID where the platform has one. */
export function randomId(): string {
  const crypto = g.crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (crypto?.getRandomValues) crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function decodeBase64Url(input: string): string {
  const base64 = input.replace(/-/g, '+').replace(/_/g, '/');
  if (g.atob) return g.atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='));
  let bits = 0;
  let value = 0;
  let out = '';
  for (const char of base64) {
    const index = B64.indexOf(char);
    if (index < 0) continue;
    value = (value << 6) | index;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((value >> bits) & 0xff);
    }
  }
  return out;
}

/** A JWT's `exp` in milliseconds, or undefined when the token is not a JWT with one (the client then never refreshes early). */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(decodeBase64Url(payload)) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
