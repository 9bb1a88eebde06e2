/**
 * Every use case wired to one set of ports. Handlers compose them over the real adapters once
 * per container; unit tests compose them over in-memory fakes.
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
import { makeArchiveConversation } from './archive-conversation.ts';
import { makeAuthenticate } from './authenticate.ts';
import { makeCloseUnauthenticated } from './close-unauthenticated.ts';
import { makeConnect } from './connect.ts';
import { makeFanOut } from './fan-out.ts';
import { makeGetHistory } from './get-history.ts';
import { makeGetTyping } from './get-typing.ts';
import { makeJoinConversation } from './join-conversation.ts';
import { makeLeaveConversation } from './leave-conversation.ts';
import { makeListConversations } from './list-conversations.ts';
import { makeMarkRead } from './mark-read.ts';
import { makeOnlineUsers } from './online-users.ts';
import { makePing } from './ping.ts';
import { makeRequireAuthenticatedConnection } from './require-authenticated-connection.ts';
import { makeSendMessage } from './send-message.ts';
import { makeStartConversation } from './start-conversation.ts';
import { makeTyping } from './typing.ts';
import { makeUpdateMessageStatus } from './update-message-status.ts';
import { makeDeleteMessage } from './delete-message.ts';
import { makeEditMessage } from './edit-message.ts';
import { makePurgeChanges, makeRepublishEvents, makeRouteEvents } from './event-pipeline.ts';
import { makeDeleteDevice, makeListDevices, makeMuteConversation, makeRegisterDevice } from './devices.ts';
import { makeSendPushes } from './send-pushes.ts';
import { makeDeliverWebhook } from './deliver-webhooks.ts';
import { makeBlockConversation, makeEndConversation, makeUnblockConversation } from './conversation-status.ts';
import { makeListReports, makeReportMessage, makeResolveReport } from './reports.ts';
import { makeFileFlaggedMessage } from './contact-policy.ts';
import { makePublishChanges } from './publish.ts';
import { makeReact } from './react.ts';
import { makeSync } from './sync.ts';
import { makeSearchMessages } from './search-messages.ts';
import { makeAssignConversation } from './assign-conversation.ts';
import { makeProviderStats } from './provider-stats.ts';
import { makeProcessAttachment } from './process-attachment.ts';
import { makeCreateAttachment } from './create-attachment.ts';
import { makeAttachmentContent, makeGetAttachment } from './get-attachment.ts';
import { makeSweepAttachments } from './sweep-attachments.ts';

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

export function composeUseCases(ports: UseCasePorts) {
  const { deliver, disconnect } = makeFanOut(ports);
  const withDelivery = { ...ports, deliver, publish: makePublishChanges(ports) };
  const deleteMessage = makeDeleteMessage(withDelivery);
  const blockConversation = makeBlockConversation(withDelivery);
  const endConversation = makeEndConversation(withDelivery);
  return {
    deliver,
    disconnect,
    startConversation: makeStartConversation(withDelivery),
    listConversations: makeListConversations(withDelivery),
    archiveConversation: makeArchiveConversation(withDelivery),
    markRead: makeMarkRead(withDelivery),
    getHistory: makeGetHistory(withDelivery),
    sendMessage: makeSendMessage(withDelivery),
    typing: makeTyping(withDelivery),
    getTyping: makeGetTyping(withDelivery),
    updateMessageStatus: makeUpdateMessageStatus(withDelivery),
    joinConversation: makeJoinConversation(withDelivery),
    leaveConversation: makeLeaveConversation(withDelivery),
    authenticate: makeAuthenticate(withDelivery),
    connect: makeConnect(withDelivery),
    requireAuthenticatedConnection: makeRequireAuthenticatedConnection(withDelivery),
    ping: makePing(withDelivery),
    onlineUsers: makeOnlineUsers(withDelivery),
    closeUnauthenticated: makeCloseUnauthenticated(withDelivery),
    editMessage: makeEditMessage(withDelivery),
    deleteMessage,
    react: makeReact(withDelivery),
    sync: makeSync(withDelivery),
    searchMessages: makeSearchMessages(withDelivery),
    providerStats: makeProviderStats(withDelivery),
    routeEvents: makeRouteEvents(withDelivery),
    registerDevice: makeRegisterDevice(withDelivery),
    listDevices: makeListDevices(withDelivery),
    deleteDevice: makeDeleteDevice(withDelivery),
    muteConversation: makeMuteConversation(withDelivery),
    sendPushes: makeSendPushes(withDelivery),
    deliverWebhook: makeDeliverWebhook(withDelivery),
    blockConversation,
    unblockConversation: makeUnblockConversation(withDelivery),
    endConversation,
    assignConversation: makeAssignConversation(withDelivery),
    reportMessage: makeReportMessage(withDelivery),
    listReports: makeListReports(withDelivery),
    fileFlaggedMessage: makeFileFlaggedMessage(withDelivery),
    resolveReport: makeResolveReport({
      ...withDelivery,
      actions: {
        delete_message: ({ identity, conversationId, messageId }) => deleteMessage({ identity, conversationId, messageId: messageId! }),
        block_conversation: blockConversation,
        end_conversation: endConversation,
      },
    }),
    republishEvents: makeRepublishEvents(withDelivery),
    purgeChanges: makePurgeChanges(withDelivery),
    processAttachment: makeProcessAttachment(withDelivery),
    createAttachment: makeCreateAttachment(withDelivery),
    getAttachment: makeGetAttachment(withDelivery),
    attachmentContent: makeAttachmentContent(withDelivery),
    sweepAttachments: makeSweepAttachments(withDelivery),
  };
}

export type UseCases = ReturnType<typeof composeUseCases>;
