import { beforeEach, describe, expect, it } from 'vitest';
import { WebhookRetryError } from '#core/use-cases/deliver-webhooks';
import { verifyWebhookSignature } from '#core/webhooks';
import { FAKE_WEBHOOK_SECRET } from '#tests/support/fakes';
import { CUSTOMER, STAFF, createWorld, type World } from './world.ts';

const URL = 'https://hooks.example.test/chat';
let world: World;
let conversation: { id: string };

beforeEach(async () => {
  world = createWorld({ CHAT_WEBHOOK_URL: URL });
  ({ conversation } = await world.startConversation({ identity: CUSTOMER, providerId: 1, customerId: 2 }));
});

const first = { attempt: 1, receiptHandle: 'receipt-1' };
const bodyOf = (index = -1) => JSON.parse(world.webhookSender.requests.at(index)!.body) as { id: string; type: string; at: string; data: Record<string, unknown> };

describe('routing', () => {
  it('forwards the webhook types to the webhooks queue only while CHAT_WEBHOOK_URL is set', async () => {
    const event = world.events.ofType('conversation.created')[0]!;
    await world.routeEvents([event]);
    expect(world.forwarder.forwarded.filter((f) => f.queue === 'webhooks').map((f) => f.event.id)).toEqual([event.id]);

    const without = createWorld();
    await without.startConversation({ identity: CUSTOMER, providerId: 1, customerId: 2 });
    await without.routeEvents(without.events.ofType('conversation.created'));
    expect(without.forwarder.forwarded.filter((f) => f.queue === 'webhooks')).toEqual([]);
  });
});

describe('deliverWebhook', () => {
  it('POSTs {id, type, at, data} signed with the secret', async () => {
    const { message } = await world.sendMessage({ identity: CUSTOMER, conversationId: conversation.id, content: 'Hello' });
    const event = world.events.ofType('message.created')[0]!;
    expect(await world.deliverWebhook(event, first)).toBe('delivered');
    const request = world.webhookSender.requests[0]!;
    expect(request.url).toBe(URL);
    expect(bodyOf()).toEqual({ id: event.id, type: 'message.created', at: event.at, data: { message: expect.objectContaining({ id: message.id, content: 'Hello' }) } });
    expect(verifyWebhookSignature(FAKE_WEBHOOK_SECRET, request.body, request.signature, world.clock.now())).toBe(true);
    expect(world.metrics.total('WebhooksDelivered')).toBe(1);
  });

  it('renders the current state: a message deleted since never carries its content', async () => {
    const { message } = await world.sendMessage({ identity: CUSTOMER, conversationId: conversation.id, content: 'my secret' });
    await world.deleteMessage({ identity: CUSTOMER, conversationId: conversation.id, messageId: message.id });
    await world.deliverWebhook(world.events.ofType('message.created')[0]!, first);
    await world.deliverWebhook(world.events.ofType('message.deleted')[0]!, first);
    expect(world.webhookSender.requests.map((r) => r.body).join()).not.toContain('my secret');
    expect(bodyOf().type).toBe('message.deleted');
  });

  it('sends report.created with the report, which /sync never shows', async () => {
    const { message } = await world.sendMessage({ identity: STAFF, conversationId: conversation.id, content: 'pay cash' });
    const { report } = await world.reportMessage({ identity: CUSTOMER, conversationId: conversation.id, messageId: message.id, reason: 'spam' });
    const event = world.events.ofType('report.created')[0]!;
    expect(event.data).toEqual({ report });
    await world.deliverWebhook(event, first);
    expect(bodyOf()).toMatchObject({ id: event.id, type: 'report.created', data: { report: { id: report.id, reason: 'spam', message: { id: message.id } } } });

    const start = await world.sync({ identity: CUSTOMER, limit: 100 });
    const customer = await world.sync({ identity: CUSTOMER, since: start.cursor, limit: 100 });
    expect(customer.changes).toEqual([]);
  });

  it('retries 5xx and timeouts later with backoff, keeping the record; gives up after 24 hours', async () => {
    const event = world.events.ofType('conversation.created')[0]!;
    world.webhookSender.outcomes = [{ kind: 'retry', status: 503, reason: 'HTTP 503' }, { kind: 'retry', reason: 'no answer within 5000 ms' }];
    await expect(world.deliverWebhook(event, first)).rejects.toBeInstanceOf(WebhookRetryError);
    await expect(world.deliverWebhook(event, { attempt: 2, receiptHandle: 'receipt-2' })).rejects.toBeInstanceOf(WebhookRetryError);
    expect(world.webhookQueue.retries).toEqual([{ receiptHandle: 'receipt-1', seconds: 30 }, { receiptHandle: 'receipt-2', seconds: 60 }]);
    expect(world.metrics.total('WebhookFailures')).toBe(2);

    world.clock.advance(23.5 * 3_600_000);
    world.webhookSender.outcomes = [{ kind: 'retry', status: 500, reason: 'HTTP 500' }];
    expect(await world.deliverWebhook(event, { attempt: 29, receiptHandle: 'receipt-29' })).toBe('dead-lettered');
    expect(world.webhookQueue.deadLetters).toEqual([{ event, reason: expect.stringContaining('24 hours') }]);
  });

  it('dead-letters at once what a retry cannot change (4xx other than 408 and 429)', async () => {
    const event = world.events.ofType('conversation.created')[0]!;
    world.webhookSender.outcomes = [{ kind: 'permanent', status: 401, reason: 'HTTP 401' }];
    expect(await world.deliverWebhook(event, first)).toBe('dead-lettered');
    expect(world.webhookQueue.retries).toEqual([]);
    expect(world.webhookQueue.deadLetters[0]!.reason).toContain('HTTP 401');
  });

  it('retries when the secret cannot be read', async () => {
    world.webhookSecret.get = async () => {
      throw new Error('Secrets Manager is down');
    };
    await expect(world.deliverWebhook(world.events.ofType('conversation.created')[0]!, first)).rejects.toBeInstanceOf(WebhookRetryError);
    expect(world.webhookSender.requests).toEqual([]);
  });
});
