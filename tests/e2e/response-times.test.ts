/**
 * Response times against the real runtime: a customer writes twice, the staff answers, and the
 * provider's statistics count it; only its own staff and admins may read them, and a bad range
 * is refused with the field it is about.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import { API, restApi, type RestApi, type Subject } from './support/chat.ts';

const CUSTOMER: Subject = { userId: 92, role: 'customer' };
const STAFF: Subject = { userId: 97, role: 'provider', providerId: 91 };
const OTHER_STAFF: Subject = { userId: 98, role: 'provider', providerId: 90 };
const ADMIN: Subject = { userId: 99, role: 'admin' };

let runtime: TestRuntime;
let api: RestApi;
let tokens: Record<'customer' | 'staff' | 'otherStaff' | 'admin', string>;

beforeAll(async () => {
  runtime = await startTestRuntime();
  api = restApi(runtime.httpUrl);
  const [customer, staff, otherStaff, admin] = await Promise.all([CUSTOMER, STAFF, OTHER_STAFF, ADMIN].map((subject) => api.devToken(subject)));
  tokens = { customer: customer!, staff: staff!, otherStaff: otherStaff!, admin: admin! };
});
afterAll(async () => {
  await runtime?.stop();
});

const statsPath = (query = '') => `${API}/providers/91/stats${query}`;

describe("a provider's response times", () => {
  it('count what each send kept: conversations, messages each way, the wait and what is unanswered', async () => {
    const started = new Date(Date.now() - 1000).toISOString();
    const first = (await api.post('/conversations', tokens.customer, { providerId: 91, customerId: 92, orderId: 1 })).body.conversation.id;
    const second = (await api.post('/conversations', tokens.customer, { providerId: 91, customerId: 92, orderId: 2 })).body.conversation.id;
    const asked = await api.post(`/conversations/${first}/messages`, tokens.customer, { content: 'Can you do 10:00?' });
    await api.post(`/conversations/${first}/messages`, tokens.customer, { content: 'Or 11:00' });
    const answered = await api.post(`/conversations/${first}/messages`, tokens.staff, { content: '10:00 works' });
    await api.post(`/conversations/${second}/messages`, tokens.customer, { content: 'And a second car?' });

    const stats = await api.get(statsPath(`?from=${encodeURIComponent(started)}`), tokens.staff);
    expect(stats.status, stats.text).toBe(200);
    const waited = (Date.parse(answered.body.message.createdAt) - Date.parse(asked.body.message.createdAt)) / 1000;
    expect(stats.body).toEqual({
      providerId: 91,
      from: started,
      to: expect.any(String),
      conversations: 2,
      messagesReceived: 3,
      messagesSent: 1,
      firstResponseSeconds: { median: waited, p90: waited },
      unanswered: 1,
    });
    // Admins read every provider's; another provider's staff none.
    expect((await api.get(statsPath(), tokens.admin)).body.messagesReceived).toBeGreaterThanOrEqual(3);
    expect((await api.get(statsPath(), tokens.otherStaff)).status).toBe(403);
    expect((await api.get(statsPath(), tokens.customer)).status).toBe(403);
  });

  it('refuses a range that is not one', async () => {
    for (const [query, field] of [
      ['?from=yesterday', 'from'],
      ['?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z', 'from'],
      ['?from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z', 'to'],
    ] as const) {
      const refused = await api.get(statsPath(query), tokens.staff);
      expect(refused.status, refused.text).toBe(400);
      expect(refused.body.error.details.map((issue: { path: string }) => issue.path)).toEqual([field]);
    }
    expect((await api.get(`${API}/providers/zero/stats`, tokens.staff)).status).toBe(400);
  });
});
