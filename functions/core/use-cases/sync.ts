import { decodeSyncCursor, encodeSyncCursor, changeData, requireFreshCursor } from '#core/changes';
import type { Identity } from '#core/model';
import type { ChangeLog, Clock, StoredChange } from '#core/ports';
import type { Settings } from '#config/settings';
import { requireParty } from './access.ts';
import { iso } from './wire.ts';

export interface SyncDeps {
  changes: Pick<ChangeLog, 'page' | 'horizon'>;
  clock: Clock;
  limits: Pick<Settings, 'CHAT_SYNC_RETENTION_DAYS'>;
}

export interface SyncInput {
  identity: Identity;
  /** A cursor from an earlier answer; without one, the answer is a starting point. */
  since?: string;
  limit: number;
}

/** One change on the wire (the protocol's Change). */
export interface SyncChange {
  cursor: string;
  conversationId: string;
  type: StoredChange['type'];
  at: string;
  data: Record<string, unknown>;
}

export interface SyncResult {
  changes: SyncChange[];
  /** Where to continue from: pass it as `since` next time. */
  cursor: string;
  /** More changes are ready now: ask again with `cursor` at once. */
  hasMore: boolean;
}

export const NO_CHANGE_FEED = 'Admins and services have no change feed; read conversations by id';

/**
 * `GET /sync?since=<cursor>&limit=`: every change visible to the caller after `since`, ascending,
 * each exactly once across pages.
 *
 * A caller sees the changes of their side's conversations (a customer's own; every staff user
 * of a provider sees the business's), except those addressed to one side or user only
 * (`conversation.archived` goes to the side that archived). Without `since` the answer has no
 * changes and the current cursor: the starting point for a client that just loaded its state.
 *
 * The returned cursor is the last change's when more are ready (`hasMore`), otherwise the log's
 * horizon, so a client that keeps polling never falls behind the retention just for being quiet.
 *
 * @throws ForbiddenError for admins (no side, so no feed).
 * @throws ValidationError for a cursor this API did not issue.
 * @throws CursorExpiredError (410) for a cursor older than `CHAT_SYNC_RETENTION_DAYS`.
 */
export function makeSync({ changes, clock, limits }: SyncDeps) {
  return async ({ identity, since, limit }: SyncInput): Promise<SyncResult> => {
    const party = requireParty(identity, NO_CHANGE_FEED);
    const now = clock.now().getTime();
    const position = since === undefined ? null : decodeSyncCursor(since);
    if (!position) {
      return { changes: [], cursor: encodeSyncCursor({ txid: await changes.horizon(), id: 0n, seenUntil: now }), hasMore: false };
    }
    requireFreshCursor(position, now, limits.CHAT_SYNC_RETENTION_DAYS);

    const page = await changes.page({ party, userId: identity.userId }, position, limit);
    const wire = page.changes.map((change) => ({
      cursor: encodeSyncCursor({ txid: change.txid, id: BigInt(change.id), seenUntil: change.at.getTime() }),
      conversationId: change.conversationId,
      type: change.type,
      at: iso(change.at),
      data: changeData(change, change),
    }));
    const last = wire.at(-1);
    const atHorizon = { txid: page.horizon, id: 0n, seenUntil: now };
    // The horizon only moves forward, but a client may hold a cursor from a newer read than this one.
    const ahead = position.txid > atHorizon.txid || (position.txid === atHorizon.txid && position.id > 0n);
    const cursor = page.hasMore && last ? last.cursor : encodeSyncCursor(ahead ? { ...position, seenUntil: now } : atHorizon);
    return { changes: wire, cursor, hasMore: page.hasMore };
  };
}
