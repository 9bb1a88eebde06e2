/**
 * Every WebSocket action, by route key: what the `$default` shim serves. Each action is defined
 * beside its route key's function (functions/handlers/ws/<route>.ts), whose bundle then holds
 * that action's use case and no other; the type below makes this table list exactly the actions
 * of WS_ACTIONS (functions/core/protocol/actions.ts), so either spelling reaches the same code.
 */
import type { RouteKey } from '#core/protocol';
import type { Action } from '#handlers/shared/ws';
import { authenticate } from './authenticate.ts';
import { ping } from './ping.ts';
import { joinConversation } from './join-conversation.ts';
import { leaveConversation } from './leave-conversation.ts';
import { sendMessage } from './send-message.ts';
import { typing } from './typing.ts';
import { updateMessageStatus } from './update-message-status.ts';
import { markRead } from './mark-read.ts';
import { editMessage } from './edit-message.ts';
import { deleteMessage } from './delete-message.ts';
import { react } from './react.ts';

/** Every action, by route key: what the `$default` shim serves. */
export const ACTION_IMPLEMENTATIONS: { [K in RouteKey]: Action<K> } = {
  authenticate,
  ping,
  joinConversation,
  leaveConversation,
  sendMessage,
  typing,
  updateMessageStatus,
  markRead,
  editMessage,
  deleteMessage,
  react,
};
