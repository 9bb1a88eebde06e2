import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { makeSqsWebhookQueue } from '#adapters/sqs/webhook-queue';
import { makeHttpWebhookSender } from '#adapters/webhooks/http-sender';
import { makeWebhookSecret } from '#adapters/webhooks/secret';
import { UnavailableError } from '#core/errors';
import type { DomainEvent } from '#core/events';

describe('the HTTP webhook sender', () => {
  let server: Server;
  let url: string;
  const seen: { headers: IncomingMessage['headers']; body: string; path: string }[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        seen.push({ headers: request.headers, body, path: request.url ?? '' });
        const status = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
        if (status === 0) return; // never answers
        response.writeHead(status, status === 302 ? { location: '/elsewhere' } : {}).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const sender = makeHttpWebhookSender({ timeoutMs: 300 });
  const request = (query = '') => ({ url: `${url}${query}`, body: '{"id":"1"}', signature: 't=1,v1=ab', eventId: '1' });

  it('POSTs the raw body with the signature and event id headers; 2xx is delivered', async () => {
    expect(await sender.send(request())).toEqual({ kind: 'delivered', status: 200 });
    const last = seen.at(-1)!;
    expect(last.body).toBe('{"id":"1"}');
    expect(last.headers['x-chat-signature']).toBe('t=1,v1=ab');
    expect(last.headers['x-chat-event-id']).toBe('1');
    expect(last.headers['content-type']).toBe('application/json');
  });

  it('classifies 5xx and 429 as retry, 4xx and redirects (not followed) as permanent', async () => {
    expect((await sender.send(request('?status=503'))).kind).toBe('retry');
    expect((await sender.send(request('?status=429'))).kind).toBe('retry');
    expect(await sender.send(request('?status=404'))).toMatchObject({ kind: 'permanent', status: 404 });
    expect(await sender.send(request('?status=302'))).toMatchObject({ kind: 'permanent', status: 302 });
    expect(seen.some((s) => s.path === '/elsewhere')).toBe(false);
  });

  it('a receiver that does not answer in time, or a refused connection, is a retry', async () => {
    expect(await sender.send(request('?status=0'))).toEqual({ kind: 'retry', reason: 'no answer within 300 ms' });
    const refused = await sender.send({ ...request(), url: 'http://127.0.0.1:1/hook' });
    expect(refused.kind).toBe('retry');
  });
});

describe('the webhook secret', () => {
  it('is the environment value locally, with no Secrets Manager call', async () => {
    const client = vi.fn();
    const secret = makeWebhookSecret({ CHAT_WEBHOOK_SECRET: 'local-secret-0123456789', AWS_REGION: 'eu-central-1' }, client);
    expect(await secret.get()).toBe('local-secret-0123456789');
    expect(client).not.toHaveBeenCalled();
  });

  it('is read from Secrets Manager once per container; a failed read is tried again', async () => {
    const send = vi.fn().mockRejectedValueOnce(new Error('throttled')).mockResolvedValue({ SecretString: 'aws-secret-0123456789abcdef' });
    const secret = makeWebhookSecret({ CHAT_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:eu-central-1:1:secret:webhook', AWS_REGION: 'eu-central-1' }, () => ({ send }) as unknown as SecretsManagerClient);
    await expect(secret.get()).rejects.toThrow('throttled');
    expect(await secret.get()).toBe('aws-secret-0123456789abcdef');
    expect(await secret.get()).toBe('aws-secret-0123456789abcdef');
    expect(send).toHaveBeenCalledTimes(2);
    expect(send.mock.calls[1]![0].input).toEqual({ SecretId: 'arn:aws:secretsmanager:eu-central-1:1:secret:webhook' });
  });

  it('accepts a JSON secret with a `secret` field, and refuses none or a short one', async () => {
    const from = (SecretString: string) => makeWebhookSecret({ CHAT_WEBHOOK_SECRET_ARN: 'arn:x', AWS_REGION: 'eu-central-1' }, () => ({ send: async () => ({ SecretString }) }) as unknown as SecretsManagerClient);
    expect(await from('{"secret":"json-secret-0123456789"}').get()).toBe('json-secret-0123456789');
    await expect(from('short').get()).rejects.toBeInstanceOf(UnavailableError);
    await expect(makeWebhookSecret({ AWS_REGION: 'eu-central-1' }).get()).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('the SQS webhook queue', () => {
  const event: DomainEvent = { id: '7', type: 'conversation.created', at: '2030-01-01T09:00:00.000Z', conversationId: 'c1', data: {} };

  it('stretches the visibility of the received record (at most 12 hours) and dead-letters with the reason', async () => {
    const send = vi.fn().mockResolvedValue({});
    const queue = makeSqsWebhookQueue({ client: { send } as unknown as SQSClient, queueUrl: 'https://sqs/q', deadLetterQueueUrl: 'https://sqs/dlq' });
    await queue.retryLater('receipt', 90);
    await queue.retryLater('receipt', 100_000);
    await queue.deadLetter(event, 'HTTP 410');
    const [first, second, third] = send.mock.calls.map(([command]) => command as ChangeMessageVisibilityCommand | SendMessageCommand);
    expect(first).toBeInstanceOf(ChangeMessageVisibilityCommand);
    expect(first!.input).toEqual({ QueueUrl: 'https://sqs/q', ReceiptHandle: 'receipt', VisibilityTimeout: 90 });
    expect((second!.input as { VisibilityTimeout: number }).VisibilityTimeout).toBe(43_200);
    expect(third).toBeInstanceOf(SendMessageCommand);
    expect(third!.input).toMatchObject({ QueueUrl: 'https://sqs/dlq', MessageBody: JSON.stringify(event), MessageAttributes: { reason: { StringValue: 'HTTP 410' } } });
  });
});
