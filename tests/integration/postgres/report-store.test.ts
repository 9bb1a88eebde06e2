/**
 * Reports on real Postgres: one report per reporter and message (racing filings included), the
 * product's own reports (no reporter) once per message too, the queue paged oldest first with
 * each message as it is now, and resolving only what is still OPEN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '#tests/support/postgres';
import { makeConversationStore } from '#adapters/postgres/conversation-store';
import { makeMessageStore } from '#adapters/postgres/message-store';
import { makeReportStore } from '#adapters/postgres/report-store';
import type { MessageStore, ReportStore } from '#core/ports';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let messages: MessageStore;
let reports: ReportStore;
let conversationId: string;
const customerId = 8101;

beforeAll(async () => {
  db = await createTestDatabase();
  messages = makeMessageStore({ prisma: db.prisma });
  reports = makeReportStore({ prisma: db.prisma });
  conversationId = (await makeConversationStore({ prisma: db.prisma }).startOrGet({ providerId: 8100, customerId, orderId: null })).conversation.id;
});
afterAll(async () => db?.drop());

const message = async (content: string) =>
  (await messages.append({ conversationId, senderId: customerId, senderRole: 'customer', senderPartyId: customerId, messageType: 'TEXT', content })).message;

describe('the report store', () => {
  it('files once per reporter and message, even when filings race, and once per message for the product', async () => {
    const { id: messageId } = await message('buy followers at example.com');
    const filings = await Promise.all(Array.from({ length: 6 }, () => reports.file({ conversationId, messageId, reporterId: 77, reason: 'spam', note: null })));
    expect(new Set(filings.map((f) => f.report.id)).size).toBe(1);
    expect(filings.filter((f) => f.created)).toHaveLength(1);
    const byProduct = await reports.file({ conversationId, messageId, reporterId: null, reason: 'off_platform', note: null });
    expect(byProduct.created).toBe(true);
    expect((await reports.file({ conversationId, messageId, reporterId: null, reason: 'off_platform', note: null })).report.id).toBe(byProduct.report.id);
  });

  it('pages the queue oldest first with the message as it is now, and resolves only OPEN reports', async () => {
    const first = await message('first');
    const second = await message('second');
    const a = (await reports.file({ conversationId, messageId: first.id, reporterId: 78, reason: 'abuse', note: 'rude' })).report;
    const b = (await reports.file({ conversationId, messageId: second.id, reporterId: 78, reason: 'scam', note: null })).report;
    await messages.tombstone(first.id, new Date());

    const open: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await reports.list('OPEN', 1, cursor);
      open.push(...page.reports.map((entry) => entry.report.id));
      const mine = page.reports.find((entry) => entry.report.id === a.id);
      if (mine) expect(mine.message).toMatchObject({ id: first.id, content: '', deletedAt: expect.any(Date) });
      cursor = page.nextCursor;
    } while (cursor);
    expect(open.indexOf(a.id)).toBeLessThan(open.indexOf(b.id));

    const at = new Date();
    expect(await reports.resolve(a.id, { resolution: 'dismiss', resolvedBy: 99, resolutionNote: 'fine', at })).toMatchObject({ status: 'RESOLVED', resolution: 'dismiss', resolvedBy: 99, resolvedAt: at });
    expect(await reports.resolve(a.id, { resolution: 'delete_message', resolvedBy: 98, resolutionNote: null, at })).toBeNull();
    expect((await reports.list('RESOLVED', 10, null)).reports.map((entry) => entry.report.id)).toEqual([a.id]);
  });
});
