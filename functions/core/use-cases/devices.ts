/**
 * The device registry and conversation mutes: where a user's pushes go, and which
 * conversations stay silent. Only customers and provider staff have devices: admins and
 * services are never on a side of a conversation, so nothing is ever pushed to them.
 */
import { NotFoundError, ValidationError } from '#core/errors';
import type { Device, Identity, PushPlatform } from '#core/model';
import type { Clock, ConversationStore, PushRegistry } from '#core/ports';
import { loadConversation, requireParticipant, requireParty } from './access.ts';
import { iso } from './wire.ts';

const NO_PUSHES = 'Only customers and provider staff receive pushes';

/** Characters of a token a client sees: enough to tell its devices apart, never the token. */
const TOKEN_SUFFIX_LENGTH = 6;

/** A device on the wire: the token only by its last characters (at most half of it). */
export function toWireDevice(device: Device) {
  const suffixLength = Math.min(TOKEN_SUFFIX_LENGTH, Math.floor(device.token.length / 2));
  return {
    id: device.id,
    platform: device.platform,
    appId: device.appId,
    locale: device.locale,
    tokenSuffix: suffixLength > 0 ? device.token.slice(-suffixLength) : '',
    createdAt: iso(device.createdAt),
    lastPushedAt: device.lastPushedAt ? iso(device.lastPushedAt) : null,
  };
}
export type WireDevice = ReturnType<typeof toWireDevice>;

export interface RegisterDeviceInput {
  identity: Identity;
  platform: PushPlatform;
  token: string;
  appId?: string | null;
  locale?: string | null;
}

/**
 * `POST /devices`: registers the caller's push token. A token the caller already registered is
 * refreshed (200); a new one, or one another user registered (the phone changed hands, or
 * someone signed in as another user), becomes the caller's (201) and stops receiving the
 * previous user's pushes.
 */
export function makeRegisterDevice({ pushRegistry }: { pushRegistry: Pick<PushRegistry, 'register'> }) {
  return async ({ identity, platform, token, appId, locale }: RegisterDeviceInput): Promise<{ device: WireDevice; created: boolean }> => {
    const party = requireParty(identity, NO_PUSHES);
    const { device, created } = await pushRegistry.register({
      userId: identity.userId,
      side: party.side,
      partyId: party.partyId,
      platform,
      token,
      appId: appId ?? null,
      locale: locale ?? null,
    });
    return { device: toWireDevice(device), created };
  };
}

/** `GET /devices`: the caller's own devices, oldest first. */
export function makeListDevices({ pushRegistry }: { pushRegistry: Pick<PushRegistry, 'devicesOf'> }) {
  return async ({ identity }: { identity: Identity }): Promise<{ devices: WireDevice[] }> => ({
    devices: (await pushRegistry.devicesOf(identity.userId)).map(toWireDevice),
  });
}

/** `DELETE /devices/:deviceId`: only its owner; another user's device is as missing as one that never was. */
export function makeDeleteDevice({ pushRegistry }: { pushRegistry: Pick<PushRegistry, 'remove'> }) {
  return async ({ identity, deviceId }: { identity: Identity; deviceId: string }): Promise<void> => {
    if (!(await pushRegistry.remove(deviceId, identity.userId))) throw new NotFoundError('Device not found');
  };
}

export interface MuteConversationInput {
  identity: Identity;
  conversationId: string;
  muted: boolean;
  /** When the mute ends by itself; none (or null) mutes for good. Only with `muted: true`. */
  mutedUntil?: Date | null;
}

/**
 * `PATCH /conversations/:id/notifications`: mutes or unmutes pushes of one conversation for the
 * calling user only (the other staff of a provider keep theirs). Live frames are not affected.
 */
export function makeMuteConversation({ conversations, pushRegistry, clock }: { conversations: Pick<ConversationStore, 'get'>; pushRegistry: Pick<PushRegistry, 'setMute'>; clock: Clock }) {
  return async ({ identity, conversationId, muted, mutedUntil }: MuteConversationInput) => {
    const conversation = await loadConversation(conversations, conversationId);
    requireParticipant(identity, conversation);
    if (!muted && mutedUntil) throw new ValidationError('mutedUntil only goes with muted: true', { field: 'mutedUntil' });
    if (mutedUntil && mutedUntil.getTime() <= clock.now().getTime()) {
      throw new ValidationError('mutedUntil must be in the future', { field: 'mutedUntil' });
    }
    const mute = await pushRegistry.setMute(conversationId, identity.userId, muted ? { mutedUntil: mutedUntil ?? null } : null);
    return { conversationId, muted, mutedUntil: mute?.mutedUntil ? iso(mute.mutedUntil) : null };
  };
}
