/**
 * Where the emulator reports what a developer should see: requests that failed, handlers that
 * are missing, timeouts. Handlers' own logs go to stdout as in Lambda.
 */
import { inspect } from 'node:util';

export interface EmulatorLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
}

/** Writes to stderr with a `[local]` prefix; `info` only when `verbose`. */
export function consoleLog(options: { verbose?: boolean } = {}): EmulatorLog {
  return {
    info: (message) => {
      if (options.verbose) console.error(`[local] ${message}`);
    },
    warn: (message) => console.error(`[local] ${message}`),
    error: (message, error) =>
      console.error(`[local] ${message}${error === undefined ? '' : `\n${inspect(error, { depth: 4 })}`}`),
  };
}

/** Drops everything (tests that assert on behaviour, not on logs). */
export const silentLog: EmulatorLog = { info: () => {}, warn: () => {}, error: () => {} };
