/** Reconnect delays: exponential backoff with full jitter (a random delay between 0 and the cap of the attempt). */
export interface BackoffOptions {
  /** The first attempt's cap (default 500 ms). */
  baseMs?: number;
  /** The largest cap (default 10 s). */
  maxMs?: number;
  /** A random number in [0, 1) (default Math.random). */
  random?: () => number;
}

/** The delay before attempt `attempt` (0 for the first retry): random in [0, min(maxMs, baseMs · 2^attempt)). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs = 500, maxMs = 10_000, random = Math.random } = options;
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}
