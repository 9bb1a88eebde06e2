/**
 * Every use case wired to one set of ports: the unit tests compose them over in-memory fakes, and
 * the `$default` shim's actions reach them all. A Lambda handler composes only the use case it
 * runs (`useCase(makeX)` in functions/handlers/shared/use-cases.ts), so that its bundle holds no
 * other; ./wiring.ts is what both share.
 */
import { makeModeratedResolveReport, wirePorts, type UseCasePorts } from './wiring.ts';
import { makeArchiveConversation } from './archive-conversation.ts';
import { makeAuthenticate } from './authenticate.ts';
import { makeCloseUnauthenticated } from './close-unauthenticated.ts';
import { makeConnect } from './connect.ts';
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
import { makeListReports, makeReportMessage } from './reports.ts';
import { makeFileFlaggedMessage } from './contact-policy.ts';
import { makeReact } from './react.ts';
import { makeSync } from './sync.ts';
import { makeSearchMessages } from './search-messages.ts';
import { makeAssignConversation } from './assign-conversation.ts';
import { makeProviderStats } from './provider-stats.ts';
import { makeProcessAttachment } from './process-attachment.ts';
import { makeCreateAttachment } from './create-attachment.ts';
import { makeAttachmentContent, makeGetAttachment } from './get-attachment.ts';
import { makeSweepAttachments } from './sweep-attachments.ts';

export function composeUseCases(ports: UseCasePorts) {
  const withDelivery = wirePorts(ports);
  const { deliver, disconnect } = withDelivery;
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
    deleteMessage: makeDeleteMessage(withDelivery),
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
    blockConversation: makeBlockConversation(withDelivery),
    unblockConversation: makeUnblockConversation(withDelivery),
    endConversation: makeEndConversation(withDelivery),
    assignConversation: makeAssignConversation(withDelivery),
    reportMessage: makeReportMessage(withDelivery),
    listReports: makeListReports(withDelivery),
    fileFlaggedMessage: makeFileFlaggedMessage(withDelivery),
    resolveReport: makeModeratedResolveReport(withDelivery),
    republishEvents: makeRepublishEvents(withDelivery),
    purgeChanges: makePurgeChanges(withDelivery),
    processAttachment: makeProcessAttachment(withDelivery),
    createAttachment: makeCreateAttachment(withDelivery),
    getAttachment: makeGetAttachment(withDelivery),
    attachmentContent: makeAttachmentContent(withDelivery),
    sweepAttachments: makeSweepAttachments(withDelivery),
  };
}

export type { UseCasePorts };
export type UseCases = ReturnType<typeof composeUseCases>;
