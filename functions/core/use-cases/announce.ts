/**
 * Presence announcements: `chat-user-online` / `chat-user-offline` go to the live connections of
 * everyone on the other side of a conversation with the user. Admins have no side, so their
 * presence is announced to nobody.
 */
import { partyOf, type Identity } from '#core/model';
import type { ConnectionStore, ConversationStore, Logger, Presence } from '#core/ports';
import type { Deliver } from './deliver.ts';
import { notifyAfterCommit } from './deliver.ts';
import { frame, toWirePresence } from './wire.ts';

export interface AnnounceDeps {
  conversations: Pick<ConversationStore, 'counterpartsOf'>;
  connections: Pick<ConnectionStore, 'forParties'>;
  deliver: Deliver;
  logger: Logger;
}

export async function announcePresence(
  deps: AnnounceDeps,
  event: 'chat-user-online' | 'chat-user-offline',
  identity: Identity,
  presence: Pick<Presence, 'lastSeen'>,
): Promise<void> {
  const party = partyOf(identity);
  if (!party) return;
  await notifyAfterCommit(deps.logger, event, async () => {
    const counterparts = await deps.conversations.counterpartsOf(party);
    if (counterparts.length === 0) return;
    const targets = await deps.connections.forParties(counterparts);
    const data = toWirePresence({ ...identity, lastSeen: presence.lastSeen });
    await deps.deliver(frame(event, data), targets.map((c) => c.connectionId));
  });
}
