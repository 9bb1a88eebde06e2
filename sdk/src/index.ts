/**
 * @provider-customer-chat/client: a chat client for apps (browsers, React Native, Node).
 *
 *   const chat = createChatClient({ httpUrl, wsUrl, getToken: () => auth.freshToken() });
 *   chat.on('message', ({ message }) => render(message));
 *   await chat.connect();
 *   const outgoing = chat.send(conversationId, { content: 'Hi' });
 *   const stored = await outgoing.sent;
 */
import { ChatClient, type ChatClientOptions } from './client.ts';

export { ChatClient } from './client.ts';
export type { ChatClientOptions, ChatEvents, ConnectionState, Source, StateChange, WebSocketConstructor, WebSocketLike } from './client.ts';
export { backoffDelay, type BackoffOptions } from './backoff.ts';
export { uploadAttachment, type BlobLike, type FormDataConstructor, type FormDataLike, type UploadOptions } from './attachments.ts';
export { ChatError, isPermanent, type ClientErrorCode } from './errors.ts';
export { Outbox, type OutgoingMessage, type OutgoingState, type SendInput } from './outbox.ts';
export { createRestApi, routeUrl, type FetchLike, type RestApi } from './rest.ts';
export { ROUTES, type RouteName } from './routes.ts';
export { memoryStorage, type KeyValueStorage } from './storage.ts';
export { systemClock, tokenExpiry, type Clock } from './runtime.ts';
export { TypingIndicator, type TypingOptions } from './typing.ts';
export type * from './protocol.ts';

export function createChatClient(options: ChatClientOptions): ChatClient {
  return new ChatClient(options);
}
