/**
 * Every HTTP route of the contract: its method and path, as functions/config/routes.ts declares
 * them. The table is checked against that manifest by the type checker (a route missing, added
 * or changed there fails `tsc` here) and by a test, so the client cannot drift from the server;
 * only its text is kept here so the bundle carries no server code.
 */
import type { HTTP_ROUTES } from '../../functions/config/routes.ts';

type Manifest = (typeof HTTP_ROUTES)[number];
type ManifestTable = { readonly [R in Manifest as R['name']]: readonly [R['method'], R['path']] };

const B = '/api/provider-customer-chat';
const C = `${B}/conversations/{conversationId}`;

export const ROUTES = {
  startConversation: ['POST', `${B}/conversations`],
  listConversations: ['GET', `${B}/conversations`],
  getMessages: ['GET', `${C}/messages`],
  sendMessage: ['POST', `${C}/messages`],
  markRead: ['PATCH', `${C}/read`],
  archiveConversation: ['PATCH', `${C}/archive`],
  getTyping: ['GET', `${C}/typing`],
  onlineUsers: ['GET', `${B}/online-users`],
  editMessage: ['PATCH', `${C}/messages/{messageId}`],
  deleteMessage: ['DELETE', `${C}/messages/{messageId}`],
  addReaction: ['PUT', `${C}/messages/{messageId}/reactions/{emoji}`],
  removeReaction: ['DELETE', `${C}/messages/{messageId}/reactions/{emoji}`],
  blockConversation: ['POST', `${C}/block`],
  unblockConversation: ['POST', `${C}/unblock`],
  endConversation: ['POST', `${C}/end`],
  assignConversation: ['PATCH', `${C}/assignee`],
  reportMessage: ['POST', `${C}/messages/{messageId}/report`],
  searchMessages: ['GET', `${B}/search/messages`],
  listReports: ['GET', `${B}/moderation/reports`],
  resolveReport: ['POST', `${B}/moderation/reports/{reportId}/resolve`],
  registerDevice: ['POST', `${B}/devices`],
  listDevices: ['GET', `${B}/devices`],
  deleteDevice: ['DELETE', `${B}/devices/{deviceId}`],
  muteConversation: ['PATCH', `${C}/notifications`],
  createAttachment: ['POST', `${C}/attachments`],
  getAttachment: ['GET', `${C}/attachments/{attachmentId}`],
  getAttachmentContent: ['GET', `${C}/attachments/{attachmentId}/content`],
  providerStats: ['GET', `${B}/providers/{providerId}/stats`],
  sync: ['GET', `${B}/sync`],
  health: ['GET', '/health'],
  apiDocs: ['GET', '/api/docs'],
  openApiDocument: ['GET', '/api/docs/openapi.json'],
} as const satisfies ManifestTable;

// Exactly the manifest's routes: none missing (satisfies) and none extra.
type Extra = Exclude<keyof typeof ROUTES, Manifest['name']>;
const _noExtra: [Extra] extends [never] ? true : never = true;
void _noExtra;

/** The name of every HTTP route. */
export type RouteName = keyof typeof ROUTES;
