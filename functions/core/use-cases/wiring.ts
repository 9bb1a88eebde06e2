/**
 * The ports every use case takes, and the two pieces of wiring over them that several use cases
 * share: delivery (`deliver` and `disconnect`, which need each other, from makeFanOut) with
 * after-commit publishing, and the moderation actions a report's resolution runs. Composing one
 * use case (`make(wirePorts(ports))`) and composing them all (compose.ts) wire the same way.
 */
import type { Settings } from '#config/settings';
import type { EventForwarder, EventPublisher } from '#core/events';
import type { MediaProcessor } from '#core/media';
import type {
  AttachmentStore,
  Broadcaster,
  ChangeLog,
  Clock,
  ConnectionStore,
  ConversationStore,
  Logger,
  MessageSearch,
  ObjectStorage,
  ProviderStatistics,
  MessageStore,
  Metrics,
  PresenceStore,
  PushRegistry,
  PushSender,
  ReportStore,
  SubscriptionStore,
  TokenVerifier,
  TypingStore,
  WebhookQueue,
  WebhookSecret,
  WebhookSender,
} from '#core/ports';
import { makeBlockConversation, makeEndConversation } from './conversation-status.ts';
import { makeDeleteMessage } from './delete-message.ts';
import { makeFanOut, type FanOut } from './fan-out.ts';
import { makePublishChanges, type PublishChanges } from './publish.ts';
import { makeResolveReport } from './reports.ts';

/** Every port the use cases take, by the names they take them. */
export interface UseCasePorts {
  limits: Settings;
  clock: Clock;
  conversations: ConversationStore;
  messages: MessageStore;
  changes: ChangeLog;
  events: EventPublisher;
  forwarder: EventForwarder;
  pushRegistry: PushRegistry;
  pushSender: PushSender;
  reports: ReportStore;
  search: MessageSearch;
  statistics: ProviderStatistics;
  connections: ConnectionStore;
  subscriptions: SubscriptionStore;
  presence: PresenceStore;
  typing: TypingStore;
  broadcaster: Broadcaster;
  verifier: TokenVerifier;
  metrics: Metrics;
  logger: Logger;
  webhookSender: WebhookSender;
  webhookSecret: WebhookSecret;
  webhookQueue: WebhookQueue;
  attachments: AttachmentStore;
  storage: ObjectStorage;
  media: MediaProcessor;
}

/** The ports with delivery and publishing wired over them: what every `makeX` is given. */
export type WiredPorts = UseCasePorts & FanOut & { publish: PublishChanges };

export function wirePorts(ports: UseCasePorts): WiredPorts {
  return { ...ports, ...makeFanOut(ports), publish: makePublishChanges(ports) };
}

/** Resolving a report, with the admin use cases its resolutions run (delete, block, end). */
export function makeModeratedResolveReport(ports: WiredPorts) {
  const deleteMessage = makeDeleteMessage(ports);
  return makeResolveReport({
    ...ports,
    actions: {
      delete_message: ({ identity, conversationId, messageId }) => deleteMessage({ identity, conversationId, messageId: messageId! }),
      block_conversation: makeBlockConversation(ports),
      end_conversation: makeEndConversation(ports),
    },
  });
}
