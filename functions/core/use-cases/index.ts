/**
 * The use cases. Each `makeX(deps)` takes ports (plus, for those that push frames, the `deliver`
 * function from `makeFanOut`) and returns one async function. Results are wire-shaped (ISO
 * times), ready to send.
 */
export * from './wire.ts';
export * from './access.ts';
export * from './deliver.ts';
export * from './fan-out.ts';
export * from './closing.ts';
export * from './start-conversation.ts';
export * from './list-conversations.ts';
export * from './archive-conversation.ts';
export * from './mark-read.ts';
export * from './get-history.ts';
export * from './send-message.ts';
export * from './typing.ts';
export * from './get-typing.ts';
export * from './update-message-status.ts';
export * from './join-conversation.ts';
export * from './leave-conversation.ts';
export * from './authenticate.ts';
export * from './connect.ts';
export * from './disconnect.ts';
export * from './require-authenticated-connection.ts';
export * from './ping.ts';
export * from './online-users.ts';
export * from './close-unauthenticated.ts';
export * from './create-attachment.ts';
export * from './get-attachment.ts';
export * from './sweep-attachments.ts';
export * from './compose.ts';
