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
 * How long after connecting a connection is never pruned as gone. `$connect` records (and signs
 * in) a connection before API Gateway completes the handshake, and until then API Gateway answers
 * 410 for it, exactly as for a connection that is gone: a fan-out that meets a connection still in
 * its `$connect` must not forget it. API Gateway's integration timeout is 29 s, so a younger
 * connection that answers 410 is left to its own `$disconnect` (or its record's TTL).
 */
export const CONNECT_GRACE_MS = 30_000;

/**
 * Wires `deliver` and `disconnect`, which need each other: delivery prunes gone connections by
 * disconnecting them, and a disconnect announces the user offline by delivering.
 *
 * The cycle is cut after one level: a connection pruned during a delivery is announced offline
 * by a delivery that only counts the gone connections it meets (they are pruned by their own
 * `$disconnect` or the next fan-out). So one send never sets off a chain of prunes.
 */
export function makeFanOut(deps: FanOutDeps): FanOut {
  const { broadcaster, connections, clock, metrics, logger } = deps;
  const countingOnly = makeDeliver({ broadcaster, clock, metrics, logger });
  const prune = makeDisconnect({ ...deps, deliver: countingOnly });
  const pruneUnlessConnecting = async (connectionId: string): Promise<boolean> => {
    const record = await connections.get(connectionId);
    if (record && clock.now().getTime() - record.connectedAt < CONNECT_GRACE_MS) {
      logger.info('A connection answered 410 while it may still be connecting; not pruned', { connectionId });
      return false;
    }
    await prune({ connectionId });
    return true;
  };
  const deliver = makeDeliver({ broadcaster, clock, metrics, logger, prune: pruneUnlessConnecting });
  const disconnect = makeDisconnect({ ...deps, deliver });
  return { deliver, disconnect };
}
