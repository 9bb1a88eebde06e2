/**
 * Every use case wired to in-memory fakes, as the handlers wire them to the real adapters, plus
 * a cast of users and small helpers to set a scene.
 */
import { makeMediaProcessor } from '#adapters/media/image-processor';
import type { Settings } from '#config/settings';
import { sideOf, type Attachment, type Conversation, type Identity } from '#core/model';
import type { ProcessingOutcome } from '#core/ports';
import { composeUseCases } from '#core/use-cases/index';
import { createFakes, type Fakes } from '#tests/support/fakes';

/** The customer of the main conversation. */
export const CUSTOMER: Identity = { userId: 2, role: 'customer' };
/** Two staff users of provider 1, the main conversation's business. */
export const STAFF: Identity = { userId: 7, role: 'provider', providerId: 1 };
export const COLLEAGUE: Identity = { userId: 8, role: 'provider', providerId: 1 };
/** A customer and a provider's staff user with no part in the main conversation. */
export const STRANGER: Identity = { userId: 3, role: 'customer' };
export const OTHER_STAFF: Identity = { userId: 9, role: 'provider', providerId: 4 };
export const ADMIN: Identity = { userId: 99, role: 'admin' };
/** A backend of the marketplace (bookings), as a client-credentials token names it. */
export const SERVICE: Identity = { userId: 0, role: 'service', serviceId: 'bookings-client' };

export function createWorld(overrides: Partial<Settings> = {}) {
  const fakes: Fakes = createFakes(overrides);
  // The real media processor: a pure library over bytes (file-type, sharp), no outside service.
  const useCases = composeUseCases({ ...fakes, media: makeMediaProcessor() });

  let tokens = 0;
  const helpers = {
    /** A token for this identity. */
    token(identity: Identity, ttlMs?: number): string {
      return fakes.verifier.issue(`token-${++tokens}`, identity, ttlMs);
    },
    /** Opens a connection signed in as `identity` (connect with ?token). */
    async online(identity: Identity, connectionId: string): Promise<string> {
      await useCases.connect({ connectionId, token: helpers.token(identity) });
      return connectionId;
    },
    /** The signed-in connection record, as requireAuthenticatedConnection answers it. */
    async connection(connectionId: string) {
      return useCases.requireAuthenticatedConnection({ connectionId });
    },
    /** Joins a room from a signed-in connection. */
    async join(connectionId: string, conversationId: string) {
      return useCases.joinConversation({ connection: await helpers.connection(connectionId), conversationId });
    },
    /** Starts (or gets) a conversation straight in the store. */
    async conversation(key: { providerId?: number; customerId?: number; orderId?: number | null } = {}): Promise<Conversation> {
      const { conversation } = await fakes.conversations.startOrGet({
        providerId: key.providerId ?? 1,
        customerId: key.customerId ?? 2,
        orderId: key.orderId ?? null,
      });
      return conversation;
    },
    /**
     * An upload of `identity`'s into the conversation, processed: READY (or as `outcome` says; PENDING with `pending`),
     * straight in the store, as the processor leaves it.
     */
    async readyUpload(identity: Identity, conversationId: string, options: { contentType?: string; fileName?: string; outcome?: ProcessingOutcome; pending?: boolean } = {}): Promise<Attachment> {
      const conversation = (await fakes.conversations.get(conversationId))!;
      const contentType = options.contentType ?? 'image/jpeg';
      const created = await fakes.attachments.create({
        conversationId,
        uploaderId: identity.userId,
        uploaderSide: sideOf(identity, conversation)!,
        fileName: options.fileName ?? 'photo.jpg',
        contentType,
        size: 2048,
      });
      const image = contentType.startsWith('image/');
      const outcome: ProcessingOutcome = options.outcome ?? { status: 'READY', size: 1024, contentType, width: image ? 800 : null, height: image ? 600 : null, hasThumbnail: image };
      if (options.pending) return created;
      return (await fakes.attachments.finish(created.id, outcome, fakes.clock.now()))!.attachment;
    },
    /** Sends a TEXT message as `identity`. */
    async say(identity: Identity, conversationId: string, content: string, extra: { clientMessageId?: string } = {}) {
      return useCases.sendMessage({ identity, conversationId, content, ...extra });
    },
  };

  // `typing` names the use case; the store is `typingStore`.
  return { ...fakes, typingStore: fakes.typing, ...useCases, ...helpers };
}

export type World = ReturnType<typeof createWorld>;
