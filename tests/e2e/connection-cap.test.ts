/**
 * The per-user connection cap under bursts, against the real runtime with SDK clients (and, for
 * the seed's bare connect + chat-authenticate, raw sockets):
 * however many connections of one user open at once, once the burst settles exactly
 * CHAT_MAX_CONNECTIONS_PER_USER remain open, and every one closed for it was told why first.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import { answerTo, closeAllChats, eventually, openChat, openRawSocket, restApi, type FrameWaits, type RestApi } from './support/chat.ts';

const CAP = 3; // the default of CHAT_MAX_CONNECTIONS_PER_USER
const BURST = 10;

let runtime: TestRuntime;
let api: RestApi;

beforeAll(async () => {
  runtime = await startTestRuntime();
  api = restApi(runtime.httpUrl);
  // Warm $connect and chat-authenticate, so the burst measures the cap, not cold starts.
  const warm = await openChat(runtime, await api.devToken({ userId: 600, role: 'customer' }));
  await warm.ack('chat-authenticate', { token: await api.devToken({ userId: 600, role: 'customer' }) });
  await warm.close();
});

afterEach(closeAllChats);

afterAll(async () => {
  await closeAllChats();
  await runtime?.stop();
});

async function settle<C extends FrameWaits>(clients: C[]) {
  const state = new Map<C, { code: number; reason: string } | null>(clients.map((c) => [c, null]));
  for (const client of clients) void client.closed.then((closed) => state.set(client, closed));
  await eventually(
    async () => [...state.values()].filter((closed) => closed !== null).length,
    (closedCount) => closedCount >= BURST - CAP,
    15_000,
  );
  // Past the retries of an eviction (about 3 s): nothing else closes later.
  await new Promise((resolve) => setTimeout(resolve, 3_500));
  const open = clients.filter((c) => state.get(c) === null);
  const closed = clients.filter((c) => state.get(c) !== null);
  return { open, closed, state };
}

function expectToldWhy(client: FrameWaits, close: { code: number; reason: string } | null | undefined) {
  expect(close?.code).toBe(1000);
  const errors = client.frames.filter((frame) => frame.event === 'chat-error');
  expect(errors).toEqual([
    {
      event: 'chat-error',
      data: { code: 'CONFLICT', message: expect.stringContaining(String(CAP)), details: { reason: 'connection_limit', maxConnections: CAP } },
    },
  ]);
}

describe('connections per user under a burst', () => {
  it(`${BURST} simultaneous connects with ?token= leave exactly ${CAP} open; each closed one got a chat-error`, async () => {
    const token = await api.devToken({ userId: 601, role: 'customer' });
    const clients = await Promise.all(Array.from({ length: BURST }, () => openChat(runtime, token)));
    const { open, closed, state } = await settle(clients);

    expect(open).toHaveLength(CAP);
    expect(closed).toHaveLength(BURST - CAP);
    for (const client of closed) expectToldWhy(client, state.get(client));
    for (const client of open) {
      await client.ack('chat-ping', {});
      expect(client.frames.filter((frame) => frame.event === 'chat-error')).toEqual([]);
    }
  });

  it(`${BURST} bare connections signing in at once with chat-authenticate leave exactly ${CAP} open`, async () => {
    const token = await api.devToken({ userId: 602, role: 'customer' });
    const clients = await Promise.all(Array.from({ length: BURST }, () => openRawSocket(runtime.wsUrl)));
    clients.forEach((client, i) => client.send({ action: 'chat-authenticate', data: { token }, requestId: `auth-${i}` }));
    const { open, closed, state } = await settle(clients);

    expect(open).toHaveLength(CAP);
    expect(closed).toHaveLength(BURST - CAP);
    for (const client of closed) expectToldWhy(client, state.get(client));
    for (const client of open) {
      client.send({ action: 'chat-ping', data: {}, requestId: 'still-open' });
      expect((await client.nextFrame(answerTo('still-open'))).event).toBe('chat-ack');
    }
  });
});
