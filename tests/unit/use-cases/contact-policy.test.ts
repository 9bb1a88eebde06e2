import { describe, expect, it } from 'vitest';
import { findContactDetails, maskContactDetails } from '#core/contact-details';
import { ValidationError } from '#core/errors';
import { CUSTOMER, STAFF, createWorld } from './world.ts';

const kinds = (text: string) => findContactDetails(text, 'DE').map((detail) => detail.kind);

describe('finding contact details', () => {
  it.each([
    ['+49 170 1234567', ['phone']],
    ['ruf an: 0170-1234567', ['phone']],
    ['0170 1234567 oder 030 12345678', ['phone', 'phone']],
    ['(0170) 123 45 67', ['phone']],
    ['+1 (415) 555-2671', ['phone']],
    ['name@gmail.com', ['email']],
    ['max.mustermann@web.de bitte', ['email']],
    ['name at gmail dot com', ['email']],
    ['name (at) gmail (dot) com', ['email']],
    ['name[at]gmx[dot]de', ['email']],
    ['https://wash.example.com/book?x=1', ['link']],
    ['www.example.com', ['link']],
    ['schau auf carwash.de vorbei', ['link']],
  ])('finds %j', (text, expected) => {
    expect(kinds(text)).toEqual(expected);
  });

  it.each([
    'zero one seven zero one two three',
    'Booking 2024-11-05 at 10:00',
    'Wash at 10:00, 2 cars, 15 EUR',
    'order 1234',
    'meet at noon dot then',
    'see you at the gate',
    'file.txt is ready',
    'e.g. the interior',
  ])('leaves %j alone', (text) => {
    expect(kinds(text)).toEqual([]);
  });

  it('masks each detail, keeping the rest', () => {
    const text = 'Call 0170 1234567 or mail name at gmail dot com, see wash.de!';
    expect(maskContactDetails(text, findContactDetails(text, 'DE'))).toBe('Call [hidden] or mail [hidden], see [hidden]!');
  });
});

describe('the policy on sends and edits', () => {
  const content = 'Pay cash, call me: 0170 1234567';

  it('flag: stores it with metadata.flags, replacing a client\'s own, and the consumer files one report', async () => {
    const world = createWorld();
    const conversation = await world.conversation();
    const { message } = await world.sendMessage({ identity: STAFF, conversationId: conversation.id, content, metadata: { flags: ['trusted'], tip: 5 } });
    expect(message).toMatchObject({ content, metadata: { tip: 5, flags: ['contact_info'] } });
    const [event] = world.events.ofType('message.created');
    expect(await world.fileFlaggedMessage(event!)).toEqual({ filed: true });
    expect(await world.fileFlaggedMessage(event!)).toEqual({ filed: false });
    const queue = await world.listReports({ identity: { userId: 99, role: 'admin' }, status: 'OPEN', limit: 10 });
    expect(queue.reports).toEqual([expect.objectContaining({ reason: 'off_platform', reporterId: null, message: expect.objectContaining({ id: message.id }) })]);

    const clean = (await world.sendMessage({ identity: CUSTOMER, conversationId: conversation.id, content: 'ok, see you', metadata: { flags: ['contact_info'] } })).message;
    expect(clean.metadata).toEqual({});
    const edited = await world.editMessage({ identity: CUSTOMER, messageId: clean.id, content: 'mail me: name@web.de' });
    expect(edited.message.content).toBe('mail me: name@web.de');
    expect(await world.fileFlaggedMessage(world.events.ofType('message.updated')[0]!)).toEqual({ filed: true });
  });

  it('mask: stores each detail as [hidden], on sends and on edits', async () => {
    const world = createWorld({ CHAT_CONTACT_INFO_POLICY: 'mask' });
    const conversation = await world.conversation();
    const { message } = await world.sendMessage({ identity: STAFF, conversationId: conversation.id, content });
    expect(message).toMatchObject({ content: 'Pay cash, call me: [hidden]', metadata: null });
    const edited = await world.editMessage({ identity: STAFF, messageId: message.id, content: 'or www.wash.de' });
    expect(edited.message.content).toBe('or [hidden]');
  });

  it('reject: refuses with details.reason contact_info and stores nothing', async () => {
    const world = createWorld({ CHAT_CONTACT_INFO_POLICY: 'reject' });
    const conversation = await world.conversation();
    const refused = world.sendMessage({ identity: STAFF, conversationId: conversation.id, content });
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toMatchObject({ details: { field: 'content', reason: 'contact_info', kinds: ['phone'] } });
    expect(world.db.messageCount(conversation.id)).toBe(0);
  });

  it('allow, and non-TEXT messages: stored as sent', async () => {
    const world = createWorld({ CHAT_CONTACT_INFO_POLICY: 'allow' });
    const conversation = await world.conversation();
    expect((await world.sendMessage({ identity: STAFF, conversationId: conversation.id, content })).message).toMatchObject({ content, metadata: null });
  });
});
