/**
 * Booking cards in a message's metadata: what a service may attach, what is refused and with
 * which issue path, and the links a card may carry.
 */
import { describe, expect, it } from 'vitest';
import { cardOf, carriesCard, isSafeCardUrl, sendMessageBody } from '#core/protocol';
import { pushNotificationFor } from '#core/push-notification';
import type { Message } from '#core/model';

const CARD = { type: 'booking', orderId: 42, title: 'Wash confirmed', status: 'confirmed', fields: [{ label: 'Time', value: '10:00' }] };
/** As the body arrives: JSON, so a key set to undefined is no key at all. */
const send = (metadata: unknown) => sendMessageBody.safeParse(JSON.parse(JSON.stringify({ messageType: 'SYSTEM', content: 'Booked', metadata })));
const pathsOf = (metadata: unknown) => send(metadata).error?.issues.map((issue) => issue.path.join('.'));

describe('a booking card', () => {
  it('is stored as validated: trimmed, fields defaulted, other metadata kept', () => {
    const parsed = send({ source: 'bookings', card: { ...CARD, title: '  Wash confirmed ', fields: undefined } });
    expect(parsed.data?.metadata).toEqual({ source: 'bookings', card: { type: 'booking', orderId: 42, title: 'Wash confirmed', status: 'confirmed', fields: [] } });
  });

  it('takes a string order id as well as a number', () => {
    expect(send({ card: { ...CARD, orderId: 'ord_42' } }).success).toBe(true);
    expect(pathsOf({ card: { ...CARD, orderId: -1 } })).toEqual(['metadata.card.orderId']);
  });

  it('names the field of each issue', () => {
    expect(pathsOf({ card: { ...CARD, title: '', status: undefined } })).toEqual(['metadata.card.title', 'metadata.card.status']);
    expect(pathsOf({ card: { ...CARD, type: 'coupon' } })).toEqual(['metadata.card.type']);
    expect(pathsOf({ card: { ...CARD, colour: 'red' } })).toEqual(['metadata.card']);
    expect(pathsOf({ card: { ...CARD, fields: Array.from({ length: 21 }, () => ({ label: 'a', value: 'b' })) } })).toEqual(['metadata.card.fields']);
    expect(send({ card: { ...CARD, title: '' } }).error?.issues[0]?.message).toBe('metadata.card.title must not be empty');
  });

  it('leaves metadata without a card alone, whatever JSON it is', () => {
    for (const metadata of [{ cards: 1 }, ['card'], 'card', 7, null]) expect(send(metadata).success).toBe(true);
  });

  it('links only to https: or an app of its own', () => {
    for (const url of ['https://example.com/orders/42', 'carwash://orders/42', 'com.example.app:/orders']) expect(isSafeCardUrl(url), url).toBe(true);
    for (const url of ['javascript:alert(1)', 'JavaScript:alert(1)', 'data:text/html,x', 'http://example.com', 'file:///etc/passwd', '/orders/42', 'https://', 'vbscript:x']) {
      expect(isSafeCardUrl(url), url).toBe(false);
    }
    expect(pathsOf({ card: { ...CARD, actions: [{ label: 'Pay', url: 'javascript:alert(1)' }] } })).toEqual(['metadata.card.actions.0.url']);
  });

  it('is read back only when valid', () => {
    expect(cardOf({ card: CARD })?.title).toBe('Wash confirmed');
    expect(cardOf({ card: { title: 'half a card' } })).toBeUndefined();
    expect(carriesCard({ card: { title: 'half a card' } })).toBe(true);
    expect(carriesCard({ other: 1 })).toBe(false);
  });

  it("titles the push of a SYSTEM message, and speaks through its status when there are no words", () => {
    const message = { id: 'm1', conversationId: 'c1', seq: 3, messageType: 'SYSTEM', content: '', metadata: { card: CARD } } as unknown as Message;
    const push = pushNotificationFor(message, { badge: 1, locale: null, preview: 'full' });
    expect(push).toMatchObject({ title: 'Wash confirmed', body: 'confirmed' });
    expect(pushNotificationFor(message, { badge: 1, locale: null, preview: 'none' })).toMatchObject({ title: 'New message', body: 'New message' });
  });
});
