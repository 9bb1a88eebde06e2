import type { Identity } from '#core/model';
import type { Clock, ConversationStore, PresenceStore } from '#core/ports';
import { requireParty } from './access.ts';
import { toWirePresence, type WirePresence } from './wire.ts';

export interface OnlineUsersDeps {
  conversations: Pick<ConversationStore, 'counterpartsOf'>;
  presence: Pick<PresenceStore, 'onlineAmong' | 'allOnline'>;
  clock: Clock;
}

/**
 * `GET /online-users`: the online users on the other side of the caller's conversations (a
 * customer sees the online staff of their providers; provider staff see their online customers),
 * or every online user for an admin. Sorted by userId.
 *
 * @returns `{users: [{userId, role, providerId?, lastSeen}]}` with `lastSeen` as ISO.
 */
export function makeOnlineUsers({ conversations, presence, clock }: OnlineUsersDeps) {
  return async ({ identity }: { identity: Identity }): Promise<{ users: WirePresence[] }> => {
    const now = clock.now().getTime();
    let online;
    if (identity.role === 'admin') {
      online = await presence.allOnline(now);
    } else {
      const counterparts = await conversations.counterpartsOf(requireParty(identity, 'Services are on no side of a conversation: they have no counterparts to see online'));
      online = counterparts.length === 0 ? [] : await presence.onlineAmong(counterparts, now);
    }
    return { users: online.map(toWirePresence).sort((a, b) => a.userId - b.userId) };
  };
}
