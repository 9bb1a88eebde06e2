/**
 * Port group: the webhook receiver. The HTTP sender and the signing secret (CHAT_WEBHOOK_SECRET,
 * or Secrets Manager in AWS). Only the webhooks queue's consumer imports it
 * (`import '#handlers/shared/ports/webhooks';`).
 */
import { makeHttpWebhookSender } from '#adapters/webhooks/http-sender';
import { makeWebhookSecret } from '#adapters/webhooks/secret';
import { providePorts } from '../container.ts';

providePorts({
  name: 'webhooks',
  build(config) {
    return {
      ports: {
        webhookSender: makeHttpWebhookSender({ timeoutMs: config.CHAT_WEBHOOK_TIMEOUT_MS }),
        webhookSecret: makeWebhookSecret(config),
      },
    };
  },
});
