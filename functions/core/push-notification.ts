/**
 * What a phone shows for a new message: the platform-neutral notification (title, body, badge,
 * data, thread) and its two platform renderings, the APNs payload and the FCM HTTP v1 message.
 * Pure: the push sender wraps these in whatever its transport needs (SNS's message structure).
 */
import type { Message, MessageType } from './model.ts';
import { cardOf } from './protocol/metadata.ts';

/** `full`: the message's content (or its kind) is the body; `none`: only "New message". */
export const PUSH_PREVIEWS = ['full', 'none'] as const;
export type PushPreview = (typeof PUSH_PREVIEWS)[number];

/** Characters of content a push body shows at most (the last one is "…" when cut). */
export const PUSH_BODY_MAX_CHARACTERS = 120;

interface Words {
  newMessage: string;
  photo: string;
  file: string;
  voice: string;
  location: string;
}

/** The fixed words of a push, by language. A device's locale picks them; English otherwise. */
export const PUSH_WORDS: Readonly<Record<string, Words>> = {
  en: { newMessage: 'New message', photo: 'Photo', file: 'File', voice: 'Voice message', location: 'Location' },
  de: { newMessage: 'Neue Nachricht', photo: 'Foto', file: 'Datei', voice: 'Sprachnachricht', location: 'Standort' },
  fr: { newMessage: 'Nouveau message', photo: 'Photo', file: 'Fichier', voice: 'Message vocal', location: 'Position' },
  es: { newMessage: 'Nuevo mensaje', photo: 'Foto', file: 'Archivo', voice: 'Mensaje de voz', location: 'Ubicación' },
  it: { newMessage: 'Nuovo messaggio', photo: 'Foto', file: 'File', voice: 'Messaggio vocale', location: 'Posizione' },
  nl: { newMessage: 'Nieuw bericht', photo: 'Foto', file: 'Bestand', voice: 'Spraakbericht', location: 'Locatie' },
  pl: { newMessage: 'Nowa wiadomość', photo: 'Zdjęcie', file: 'Plik', voice: 'Wiadomość głosowa', location: 'Lokalizacja' },
  pt: { newMessage: 'Nova mensagem', photo: 'Foto', file: 'Ficheiro', voice: 'Mensagem de voz', location: 'Localização' },
  tr: { newMessage: 'Yeni mesaj', photo: 'Fotoğraf', file: 'Dosya', voice: 'Sesli mesaj', location: 'Konum' },
};

/** The words for a BCP 47 locale: its language (`de-AT` → `de`), else English. */
export function wordsFor(locale: string | null | undefined): Words {
  const language = (locale ?? '').toLowerCase().split(/[-_]/)[0] ?? '';
  return PUSH_WORDS[language] ?? PUSH_WORDS.en!;
}

const KIND_WORD: Partial<Record<MessageType, keyof Words>> = { IMAGE: 'photo', FILE: 'file', VOICE: 'voice', LOCATION: 'location' };

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** At most `max` user-perceived characters (an emoji or a flag is never split), "…" ending a cut. */
export function truncateText(text: string, max = PUSH_BODY_MAX_CHARACTERS): string {
  const parts = Array.from(graphemes.segment(text), (segment) => segment.segment);
  return parts.length <= max ? text : `${parts.slice(0, max - 1).join('').trimEnd()}…`;
}

/** What every platform's push carries, before it is rendered for APNs or FCM. */
export interface PushNotification {
  title: string;
  body: string;
  /** The recipient side's unread count over its active conversations. */
  badge: number;
  data: { conversationId: string; messageId: string; seq: number };
  /** The conversation: notifications of one conversation group together and replace each other. */
  threadId: string;
  /** The message has media a notification extension may download for a rich preview. */
  richMedia: boolean;
}

/** The notification of `message` for a device whose locale is `locale`. */
export function pushNotificationFor(message: Message, options: { badge: number; locale: string | null; preview: PushPreview }): PushNotification {
  const words = wordsFor(options.locale);
  const kind = KIND_WORD[message.messageType];
  const card = message.messageType === 'SYSTEM' ? cardOf(message.metadata) : undefined;
  const content = message.content.trim();
  // A card without words speaks through its status ("Wash confirmed" / "confirmed").
  const preview = content ? truncateText(content) : card ? truncateText(card.status) : kind ? words[kind] : words.newMessage;
  return {
    title: options.preview === 'full' && card ? truncateText(card.title, 60) : words.newMessage,
    body: options.preview === 'none' ? words.newMessage : preview,
    badge: options.badge,
    data: { conversationId: message.conversationId, messageId: message.id, seq: message.seq },
    threadId: message.conversationId,
    richMedia: message.messageType === 'IMAGE',
  };
}

/** The APNs payload (what the phone receives as the notification's userInfo). */
export function apnsPayload(notification: PushNotification) {
  return {
    aps: {
      alert: { title: notification.title, body: notification.body },
      badge: notification.badge,
      sound: 'default',
      'thread-id': notification.threadId,
      ...(notification.richMedia ? { 'mutable-content': 1 } : {}),
    },
    ...notification.data,
  };
}

/** The APNs request headers that go beside the payload. */
export function apnsHeaders(notification: PushNotification) {
  return { 'apns-collapse-id': notification.threadId, 'apns-push-type': 'alert', 'apns-priority': '10' };
}

/** The FCM HTTP v1 `message` (without its `token`): FCM's `data` values are strings. */
export function fcmMessage(notification: PushNotification) {
  const { conversationId, messageId, seq } = notification.data;
  return {
    notification: { title: notification.title, body: notification.body },
    data: { conversationId, messageId, seq: String(seq), badge: String(notification.badge) },
    android: {
      priority: 'high',
      collapse_key: notification.threadId,
      notification: { tag: notification.threadId, notification_count: notification.badge, sound: 'default' },
    },
  };
}
