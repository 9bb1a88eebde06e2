import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput, type SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchEntryId, makeEventPublisher, makeQueueSender, MAX_BATCH_BYTES, QueueSendError } from '#adapters/sqs/event-publisher';
import type { DomainEvent } from '#core/events';

const sqs = mockClient(SQSClient);
const client = new SQSClient({ region: 'us-east-1' });
const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/chat-events';

const event = (id: string): DomainEvent => ({ id, type: 'message.created', at: '2030-01-01T00:00:00.000Z', conversationId: 'c1', data: { seq: 1 } });

/** Answers every batch with success, except the entries `fail` picks (on the given attempt). */
function answer(fail: (entryId: string, attempt: number) => { SenderFault: boolean } | undefined = () => undefined) {
  const attempts = new Map<string, number>();
  sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput): SendMessageBatchCommandOutput => {
    const Successful: NonNullable<SendMessageBatchCommandOutput['Successful']> = [];
    const Failed: NonNullable<SendMessageBatchCommandOutput['Failed']> = [];
    for (const entry of input.Entries ?? []) {
      const attempt = (attempts.get(entry.Id!) ?? 0) + 1;
      attempts.set(entry.Id!, attempt);
      const failure = fail(entry.Id!, attempt);
      if (failure) Failed.push({ Id: entry.Id!, Code: 'InternalError', Message: 'try again', ...failure });
      else Successful.push({ Id: entry.Id!, MessageId: `m-${entry.Id}`, MD5OfMessageBody: 'x' });
    }
    return { Successful, Failed, $metadata: {} };
  });
}

const sentBatches = () => sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);

beforeEach(() => sqs.reset());
afterEach(() => sqs.reset());

describe('makeEventPublisher', () => {
  it('sends every event as its JSON, in batches of at most 10', async () => {
    answer();
    const events = Array.from({ length: 23 }, (_, i) => event(`e${i}`));
    await makeEventPublisher({ client, queueUrl }).publish(events);
    const batches = sentBatches();
    expect(batches.map((batch) => batch.Entries!.length)).toEqual([10, 10, 3]);
    expect(batches.every((batch) => batch.QueueUrl === queueUrl)).toBe(true);
    const bodies = batches.flatMap((batch) => batch.Entries!.map((entry) => JSON.parse(entry.MessageBody!) as DomainEvent));
    expect(bodies).toEqual(events);
  });

  it('sends nothing for no events', async () => {
    answer();
    await makeEventPublisher({ client, queueUrl }).publish([]);
    expect(sentBatches()).toEqual([]);
  });

  it('retries entries SQS failed once, and succeeds when the retry does', async () => {
    answer((id, attempt) => (id === 'e3' && attempt === 1 ? { SenderFault: false } : undefined));
    await makeEventPublisher({ client, queueUrl }).publish([event('e1'), event('e2'), event('e3')]);
    const batches = sentBatches();
    expect(batches).toHaveLength(2);
    expect(batches[1]!.Entries!.map((entry) => entry.Id)).toEqual(['e3']);
  });

  it('throws naming the events that failed twice, and does not retry sender faults', async () => {
    answer((id) => (id === 'e2' ? { SenderFault: false } : id === 'e4' ? { SenderFault: true } : undefined));
    const error = await makeEventPublisher({ client, queueUrl })
      .publish([event('e1'), event('e2'), event('e3'), event('e4')])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueSendError);
    expect((error as QueueSendError).failedIds.sort()).toEqual(['e2', 'e4']);
    expect((error as Error).message).toContain('e2');
    expect(sentBatches().map((batch) => batch.Entries!.map((entry) => entry.Id))).toEqual([['e1', 'e2', 'e3', 'e4'], ['e2']]);
  });

  it('names every event of a batch whose request failed', async () => {
    sqs.on(SendMessageBatchCommand).rejects(Object.assign(new Error('no queue'), { name: 'QueueDoesNotExist' }));
    const error = (await makeEventPublisher({ client, queueUrl }).publish([event('a'), event('b')]).catch((e: unknown) => e)) as QueueSendError;
    expect(error.failedIds).toEqual(['a', 'b']);
    expect(error.message).toContain('QueueDoesNotExist');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('derives valid, distinct entry ids from any event id', async () => {
    answer();
    const ids = ['01J:abc/def', '01J_abc_def', 'x'.repeat(120), 'ünïcode✓', ''];
    await makeEventPublisher({ client, queueUrl }).publish(ids.map(event));
    const entryIds = sentBatches()[0]!.Entries!.map((entry) => entry.Id!);
    for (const id of entryIds) expect(id).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(new Set(entryIds).size).toBe(ids.length);
    expect(entryIds[0]).toBe('01J_abc_def');
    expect(entryIds[1]).toBe('01J_abc_def-1');
    expect(batchEntryId('a.b')).toBe('a_b');
  });
});

describe('makeQueueSender', () => {
  it('splits batches that would exceed the 1 MiB batch limit', async () => {
    answer();
    const body = 'x'.repeat(400_000);
    await makeQueueSender({ client, queueUrl }).send([1, 2, 3, 4, 5].map((n) => ({ id: `m${n}`, body })));
    const batches = sentBatches();
    expect(batches.map((batch) => batch.Entries!.length)).toEqual([2, 2, 1]);
    for (const batch of batches) {
      expect(batch.Entries!.reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody!), 0)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    }
  });

  it('refuses a message over the message limit without failing the others', async () => {
    answer();
    const error = (await makeQueueSender({ client, queueUrl })
      .send([{ id: 'big', body: 'x'.repeat(MAX_BATCH_BYTES + 1) }, { id: 'small', body: '{}' }])
      .catch((e: unknown) => e)) as QueueSendError;
    expect(error.failedIds).toEqual(['big']);
    expect(sentBatches().map((batch) => batch.Entries!.map((entry) => entry.Id))).toEqual([['small']]);
  });
});
