/**
 * WebhookSender over HTTP with the runtime's global fetch: one POST per event, bounded by a
 * timeout (AbortSignal), redirects not followed. The answer is classified by
 * functions/core/webhooks.ts; a timeout or a network error is worth another attempt. The response
 * body is read (so the connection can be reused) and ignored.
 */
import type { WebhookRequest, WebhookSender } from '#core/ports';
import { classifyStatus, SIGNATURE_HEADER, type WebhookOutcome } from '#core/webhooks';

export const USER_AGENT = 'provider-customer-chat-webhooks/1';

export function makeHttpWebhookSender({ timeoutMs, fetch: fetchImpl = globalThis.fetch }: { timeoutMs: number; fetch?: typeof globalThis.fetch }): WebhookSender {
  return {
    async send({ url, body, signature, eventId }: WebhookRequest): Promise<WebhookOutcome> {
      try {
        const response = await fetchImpl(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': USER_AGENT,
            [SIGNATURE_HEADER]: signature,
            'X-Chat-Event-Id': eventId,
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.arrayBuffer().catch(() => undefined);
        return classifyStatus(response.status);
      } catch (error) {
        const name = (error as Error).name;
        const reason = name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${timeoutMs} ms` : `network error: ${(error as Error).message}`;
        return { kind: 'retry', reason };
      }
    },
  };
}
