/**
 * The webhook signing secret: CHAT_WEBHOOK_SECRET locally; in AWS the SecretString of the Secrets
 * Manager secret CHAT_WEBHOOK_SECRET_ARN (plain text, or JSON with a `secret` field), read once
 * per container like the database secret. A failed read is not cached: the next record tries again.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Settings } from '#config/settings';
import { UnavailableError } from '#core/errors';
import type { WebhookSecret } from '#core/ports';

export function makeWebhookSecret(
  config: Pick<Settings, 'CHAT_WEBHOOK_SECRET' | 'CHAT_WEBHOOK_SECRET_ARN' | 'AWS_REGION'>,
  secrets = () => new SecretsManagerClient({ region: config.AWS_REGION }),
): WebhookSecret {
  let cached: Promise<string> | undefined;
  const read = async (): Promise<string> => {
    if (config.CHAT_WEBHOOK_SECRET) return config.CHAT_WEBHOOK_SECRET;
    if (!config.CHAT_WEBHOOK_SECRET_ARN) throw new UnavailableError('No webhook signing secret is configured (CHAT_WEBHOOK_SECRET, or CHAT_WEBHOOK_SECRET_ARN)');
    const { SecretString } = await secrets().send(new GetSecretValueCommand({ SecretId: config.CHAT_WEBHOOK_SECRET_ARN }));
    let secret = SecretString ?? '';
    if (secret.startsWith('{')) {
      const parsed = JSON.parse(secret) as { secret?: unknown };
      secret = typeof parsed.secret === 'string' ? parsed.secret : '';
    }
    if (secret.length < 16) throw new UnavailableError('The webhook signing secret is missing or shorter than 16 characters');
    return secret;
  };
  return {
    get() {
      cached ??= read().catch((error: unknown) => {
        cached = undefined;
        throw error;
      });
      return cached;
    },
  };
}
