import type { Clock } from '#core/ports';
import { iso } from './wire.ts';

/**
 * `chat-ping`: answers `{at}` (the server's time, ISO) for `chat-pong`. Any client frame keeps
 * an API Gateway connection from idling out; this is the one that does nothing else. Allowed on
 * a bare connection.
 */
export function makePing({ clock }: { clock: Clock }) {
  return async (): Promise<{ at: string }> => ({ at: iso(clock.now()) });
}
