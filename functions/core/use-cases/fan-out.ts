import type { Broadcaster, Clock, ConnectionStore, ConversationStore, Logger, Metrics, PresenceStore, SubscriptionStore } from '#core/ports';
import { makeDeliver, type Deliver } from './deliver.ts';
import { makeDisconnect, type DisconnectInput, type DisconnectResult } from './disconnect.ts';

export interface FanOutDeps {
  broadcaster: Broadcaster;
  connections: ConnectionStore;
  subscriptions: SubscriptionStore;
  presence: PresenceStore;
  conversations: Pick<ConversationStore, 'counterpartsOf'>;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
}

export interface FanOut {
  /** Delivers a frame, pruning gone connections through `disconnect`. */
  deliver: Deliver;
  /** The disconnect use case, announcing offline users through `deliver`. */
  disconnect: (input: DisconnectInput) => Promise<DisconnectResult>;
}

/**
 * Wires `deliver` and `disconnect`, which need each other: delivery prunes gone connections by
 * disconnecting them, and a disconnect announces the user offline by delivering.
 *
 * The cycle is cut after one level: a connection pruned during a delivery is announced offline
 * by a delivery that only counts the gone connections it meets (they are pruned by their own
 * `$disconnect` or the next fan-out). So one send never sets off a chain of prunes.
 */
export function makeFanOut(deps: FanOutDeps): FanOut {
  const { broadcaster, clock, metrics, logger } = deps;
  const countingOnly = makeDeliver({ broadcaster, clock, metrics, logger });
  const prune = makeDisconnect({ ...deps, deliver: countingOnly });
  const deliver = makeDeliver({ broadcaster, clock, metrics, logger, prune: (connectionId) => prune({ connectionId }) });
  const disconnect = makeDisconnect({ ...deps, deliver });
  return { deliver, disconnect };
}
