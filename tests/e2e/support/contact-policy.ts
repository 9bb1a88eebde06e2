/**
 * One scenario of the contact-detail policy, run by one test file per policy: the handlers read
 * their settings once per process (as a Lambda container does), so each policy needs a runtime
 * in a file of its own. Details sent over REST and WebSocket and added by an edit are flagged,
 * masked, refused or let through as CHAT_CONTACT_INFO_POLICY says; a date and a time are not details.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import { closeAllChats, openChat, restApi, type Json, type RestApi, type Subject } from './chat.ts';

const CUSTOMER: Subject = { userId: 92, role: 'customer' };
const STAFF: Subject = { userId: 97, role: 'provider', providerId: 91 };

export function describeContactPolicy(policy: 'allow' | 'flag' | 'mask' | 'reject'): void {
  describe(`CHAT_CONTACT_INFO_POLICY=${policy}`, () => {
    let runtime: TestRuntime;
    let api: RestApi;
    beforeAll(async () => {
      runtime = await startTestRuntime({ env: { CHAT_CONTACT_INFO_POLICY: policy } });
      api = restApi(runtime.httpUrl);
    });
    afterEach(closeAllChats);
    afterAll(async () => {
      await closeAllChats();
      await runtime?.stop();
    });

    it('applies the policy to sends over REST and WebSocket and to edits', async () => {
      const [customer, staff] = await Promise.all([api.devToken(CUSTOMER), api.devToken(STAFF)]);
      const conversationId = (await api.post('/conversations', customer, { providerId: 91, customerId: 92 })).body.conversation.id;
      const desk = await openChat(runtime, staff);
      const offer = 'Call me on 0170-1234567 or write to name at gmail dot com';

      const sent = await api.post(`/conversations/${conversationId}/messages`, customer, { content: offer });
      const overSocket = await desk.request('chat-send-message', { conversationId, content: 'www.carwash-direct.de has it cheaper' });
      const plain = await api.post(`/conversations/${conversationId}/messages`, customer, { content: 'See you at 10:00 on 2024-11-05' });
      expect(plain.status, plain.text).toBe(201);
      expect(plain.body.message.metadata).toBeNull();
      const edited = await api.patch(`/conversations/${conversationId}/messages/${plain.body.message.id}`, customer, { content: 'Or call +49 170 1234567' });

      switch (policy) {
        case 'reject': {
          for (const refused of [sent, edited]) {
            expect(refused.status, refused.text).toBe(400);
            expect(refused.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'content', reason: 'contact_info' } });
          }
          expect(overSocket).toMatchObject({ event: 'chat-error', data: { code: 'VALIDATION_ERROR' } });
          const history = await api.get(`/conversations/${conversationId}/messages`, customer);
          expect(history.body.messages.map((m: Json) => m.content)).toEqual(['See you at 10:00 on 2024-11-05']);
          break;
        }
        case 'mask':
          expect(sent.body.message.content).toBe('Call me on [hidden] or write to [hidden]');
          expect(overSocket.data.data.message.content).toBe('[hidden] has it cheaper');
          expect(edited.body.message.content).toBe('Or call [hidden]');
          break;
        case 'flag':
          expect(sent.body.message).toMatchObject({ content: offer, metadata: { flags: ['contact_info'] } });
          expect(overSocket.data.data.message.metadata).toEqual({ flags: ['contact_info'] });
          expect(edited.body.message.content).toBe('Or call +49 170 1234567');
          break;
        case 'allow':
          expect(sent.body.message).toMatchObject({ content: offer, metadata: null });
          expect(overSocket.data.data.message).toMatchObject({ content: 'www.carwash-direct.de has it cheaper', metadata: null });
          expect(edited.body.message.content).toBe('Or call +49 170 1234567');
          break;
      }
    });
  });
}
