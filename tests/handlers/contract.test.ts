/**
 * The harness holds the handlers to the protocol: a frame posted to `@connections` that does not
 * match SERVER_EVENT_SCHEMAS fails the test that looks at frames. And a route key's function
 * serves only the action it names, while `$default` serves every action in either spelling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractViolation } from '#core/protocol';
import { people, startHandlerHarness, type HandlerHarness } from '#tests/support/handler-harness';

let h: HandlerHarness;

beforeAll(async () => {
  h = await startHandlerHarness();
});

afterAll(async () => {
  await h?.stop();
});

describe('the harness validates frames', () => {
  it('a frame of the wrong shape posted to @connections throws a ContractViolation with the zod issues', async () => {
    const connectionId = h.newConnectionId();
    expect((await h.ws.connect(connectionId, { token: h.token(people.customer) })).open).toBe(true);
    // Post as a buggy handler would: chat-new-message without its message.
    const url = `${h.endpoint.url}/@connections/${encodeURIComponent(connectionId)}`;
    const posted = await fetch(url, { method: 'POST', body: JSON.stringify({ event: 'chat-new-message', data: { id: 'm1' } }) });
    expect(posted.status).toBe(200);
    let thrown: unknown;
    try {
      h.framesFor(connectionId);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ContractViolation);
    expect((thrown as ContractViolation).issues.map((issue) => issue.path)).toEqual(['data.message']);
    expect((thrown as ContractViolation).message).toMatch(/chat-new-message[\s\S]*data.message/);
    // Checked once: later looks see only what came after.
    expect(() => h.framesFor(connectionId)).not.toThrow();
  });

  it('valid frames and acks pass', async () => {
    const connectionId = h.newConnectionId();
    await h.ws.connect(connectionId, { token: h.token(people.customer) });
    const reply = await h.ws.send(connectionId, { action: 'ping', data: {}, requestId: 'r1' });
    expect(reply.frames.map((frame) => frame.event)).toEqual(['chat-pong', 'chat-ack']);
  });
});

describe('route keys', () => {
  it("a route key's function refuses another action's frame; $default serves it", async () => {
    const connectionId = h.newConnectionId();
    await h.ws.connect(connectionId, { token: h.token(people.customer) });
    const wrong = await h.ws.send(connectionId, { action: 'ping', data: {}, requestId: 'r2' }, 'typing');
    expect(wrong.frames).toEqual([
      { event: 'chat-error', data: expect.objectContaining({ code: 'VALIDATION_ERROR', requestId: 'r2' }), requestId: 'r2' },
    ]);
    const shim = await h.ws.send(connectionId, { action: 'chat-ping', data: {}, requestId: 'r3' });
    expect(shim.routeKey).toBe('$default');
    expect(shim.frames.map((frame) => frame.event)).toEqual(['chat-pong', 'chat-ack']);
  });

  it('the new actions have route keys', () => {
    for (const routeKey of ['editMessage', 'deleteMessage', 'react']) {
      expect(h.ws.selectRoute(JSON.stringify({ action: routeKey }))).toBe(routeKey);
    }
  });
});
