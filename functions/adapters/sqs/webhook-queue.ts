/**
 * WebhookQueue on SQS: the next attempt is scheduled by stretching the received record's
 * visibility timeout (ChangeMessageVisibility, at most 12 hours), and an event given up is sent
 * to the webhooks dead-letter queue with why, for an operator to replay (StartMessageMoveTask).
 */
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DomainEvent } from '#core/events';
import type { WebhookQueue } from '#core/ports';

/** SQS's longest visibility timeout. */
export const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

export function makeSqsWebhookQueue({ client, queueUrl, deadLetterQueueUrl }: { client: SQSClient; queueUrl: string; deadLetterQueueUrl: string }): WebhookQueue {
  return {
    async retryLater(receiptHandle, seconds) {
      const timeout = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.round(seconds)));
      await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: timeout }));
    },
    async deadLetter(event: DomainEvent, reason: string) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: deadLetterQueueUrl,
          MessageBody: JSON.stringify(event),
          MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 1000) } },
        }),
      );
    },
  };
}
