/**
 * The SQS client, created once per container. In AWS the region and credentials come from the
 * Lambda environment; locally SQS_ENDPOINT points at the runtime's SQS emulator, which accepts
 * any credentials.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Settings } from '#config/settings';

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** An SQSClient for the settings' region, pointed at SQS_ENDPOINT when it is set (local only). */
export function createSqsClient(settings: Pick<Settings, 'AWS_REGION' | 'SQS_ENDPOINT'>): SQSClient {
  const endpoint = settings.SQS_ENDPOINT;
  return new SQSClient({
    region: settings.AWS_REGION,
    // The middleware stack resolved once per command class, not on every call (every send
    // publishes its events with one SendMessageBatch); nothing changes the stack after the
    // client is made.
    cacheMiddleware: true,
    ...(endpoint ? { endpoint, credentials: LOCAL_CREDENTIALS } : {}),
  });
}
