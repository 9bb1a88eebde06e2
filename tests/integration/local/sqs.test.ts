/**
 * The local SQS against the real @aws-sdk/client-sqs: what SQS documents for standard queues
 * (visibility, receive counts, redrive, batches, long polling, errors), as the SDK sees it.
 */
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  BatchEntryIdsNotDistinct,
  MessageNotInflight,
  TooManyEntriesInBatchRequest,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5OfMessageAttributes, startSqsEmulator, type SqsEmulator } from '#lib/local/sqs';

let sqs: SqsEmulator;
let client: SQSClient;
let counter = 0;

beforeAll(async () => {
  sqs = await startSqsEmulator();
  client = new SQSClient({ endpoint: sqs.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'any', secretAccessKey: 'any' } });
});

afterAll(async () => {
  client?.destroy();
  await sqs?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh queue (and its dead-letter queue when maxReceiveCount is given). */
async function queue(options: { visibility?: number; maxReceiveCount?: number } = {}) {
  const name = `q${++counter}`;
  let dlqUrl: string | undefined;
  const attributes: Record<string, string> = { VisibilityTimeout: String(options.visibility ?? 30) };
  if (options.maxReceiveCount !== undefined) {
    dlqUrl = (await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
    attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: sqs.queueArn(`${name}-dlq`), maxReceiveCount: options.maxReceiveCount });
  }
  const url = (await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
  return { name, url, dlqUrl };
}

const receive = (url: string, extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {}) =>
  client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'], ...extra }));

async function counts(url: string) {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return {
    visible: Number(Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
    delayed: Number(Attributes?.ApproximateNumberOfMessagesDelayed),
  };
}

describe('local SQS', () => {
  it('creates queues idempotently, finds them by name and lists them', async () => {
    const { name, url } = await queue();
    expect(url).toBe(`${sqs.endpoint}/000000000000/${name}`);
    await expect(client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '30' } }))).resolves.toMatchObject({ QueueUrl: url });
    await expect(client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '31' } }))).rejects.toMatchObject({ name: 'QueueNameExists' });
    expect((await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl).toBe(url);
    expect((await client.send(new ListQueuesCommand({ QueueNamePrefix: name }))).QueueUrls).toEqual([url]);
    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
    expect(Attributes).toMatchObject({ QueueArn: `arn:aws:sqs:us-east-1:000000000000:${name}`, VisibilityTimeout: '30', MaximumMessageSize: '1048576' });
  });

  it('refuses FIFO queues and bad names clearly', async () => {
    await expect(client.send(new CreateQueueCommand({ QueueName: 'orders.fifo', Attributes: { FifoQueue: 'true' } }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('FIFO queues are not supported'),
    });
    await expect(client.send(new CreateQueueCommand({ QueueName: 'bad name' }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('answers QueueDoesNotExist for an unknown queue, with the query-compatible code', async () => {
    const error = await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl('nope'), MessageBody: 'x' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueDoesNotExist);
    expect(error).toMatchObject({ Code: 'AWS.SimpleQueueService.NonExistentQueue', $metadata: { httpStatusCode: 400 } });
    await expect(client.send(new GetQueueUrlCommand({ QueueName: 'nope' }))).rejects.toBeInstanceOf(QueueDoesNotExist);
  });

  it('hides a received message for the visibility timeout, then delivers it again with a higher receive count', async () => {
    const { url } = await queue({ visibility: 1 });
    const sent = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'héllo ✓' })); // the SDK checks MD5OfMessageBody
    const first = await receive(url);
    expect(first.Messages).toHaveLength(1);
    const [message] = first.Messages!;
    expect(message).toMatchObject({ MessageId: sent.MessageId, Body: 'héllo ✓', MD5OfBody: sent.MD5OfMessageBody });
    expect(message!.Attributes).toMatchObject({ ApproximateReceiveCount: '1', SenderId: expect.any(String) });
    expect(Number(message!.Attributes!.SentTimestamp)).toBeLessThanOrEqual(Date.now());
    expect((await receive(url)).Messages).toBeUndefined();
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 1, delayed: 0 });

    await sleep(1_100);
    const second = await receive(url);
    expect(second.Messages![0]!.Attributes).toMatchObject({
      ApproximateReceiveCount: '2',
      ApproximateFirstReceiveTimestamp: message!.Attributes!.ApproximateFirstReceiveTimestamp,
    });
    expect(second.Messages![0]!.ReceiptHandle).not.toBe(message!.ReceiptHandle);
  });

  it('honours a per-receive VisibilityTimeout and ChangeMessageVisibility 0', async () => {
    const { url } = await queue({ visibility: 300 });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'a' }));
    const [message] = (await receive(url, { VisibilityTimeout: 0 })).Messages!;
    const again = (await receive(url)).Messages!;
    expect(again[0]!.Attributes!.ApproximateReceiveCount).toBe('2');
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: again[0]!.ReceiptHandle, VisibilityTimeout: 0 }));
    expect((await receive(url)).Messages![0]!.Attributes!.ApproximateReceiveCount).toBe('3');
    // A stale handle still deletes on a standard queue.
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle }));
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    await expect(
      client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle, VisibilityTimeout: 0 })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'garbage' }))).rejects.toBeInstanceOf(ReceiptHandleIsInvalid);
  });

  it('refuses to change the visibility of a message that is not in flight', async () => {
    const { url } = await queue({ visibility: 1 });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'a' }));
    const [message] = (await receive(url)).Messages!;
    await sleep(1_100);
    await expect(
      client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle, VisibilityTimeout: 10 })),
    ).rejects.toBeInstanceOf(MessageNotInflight);
  });

  it('moves a message to the dead-letter queue instead of receiving it past maxReceiveCount', async () => {
    const { url, dlqUrl, name } = await queue({ visibility: 0, maxReceiveCount: 2 });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    expect((await receive(url)).Messages![0]!.Attributes!.ApproximateReceiveCount).toBe('1');
    expect((await receive(url)).Messages![0]!.Attributes!.ApproximateReceiveCount).toBe('2');
    expect((await receive(url)).Messages).toBeUndefined();
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(await counts(dlqUrl!)).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    const [dead] = (await receive(dlqUrl!, { VisibilityTimeout: 0 })).Messages!;
    expect(dead).toMatchObject({ Body: 'poison', Attributes: { ApproximateReceiveCount: '3', DeadLetterQueueSourceArn: sqs.queueArn(name) } });
    expect(sqs.queues().find((q) => q.name === name)).toMatchObject({ redrivePolicy: { maxReceiveCount: 2 } });
  });

  it('moves dead-lettered messages back to their source queue (StartMessageMoveTask), with a fresh receive count', async () => {
    const { url, dlqUrl, name } = await queue({ visibility: 0, maxReceiveCount: 1 });
    await client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: 'one' }, { Id: 'b', MessageBody: 'two' }] }));
    await receive(url);
    await receive(url); // both exceed maxReceiveCount 1 here
    expect(sqs.messages(`${name}-dlq`)!.map((m) => m.body).sort()).toEqual(['one', 'two']);
    await expect(client.send(new StartMessageMoveTaskCommand({ SourceArn: sqs.queueArn(name) }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    const task = await client.send(new StartMessageMoveTaskCommand({ SourceArn: sqs.queueArn(`${name}-dlq`) }));
    expect(task.TaskHandle).toEqual(expect.any(String));
    expect(await counts(dlqUrl!)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    const back = (await receive(url)).Messages!;
    expect(back.map((m) => [m.Body, m.Attributes!.ApproximateReceiveCount]).sort()).toEqual([
      ['one', '1'],
      ['two', '1'],
    ]);
  });

  it('sends batches entry by entry and refuses bad batches as a whole, as SQS does', async () => {
    const { url } = await queue();
    const result = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'ok-1', MessageBody: '{"n":1}' },
          { Id: 'bad', MessageBody: 'nul \u0000 inside' },
          { Id: 'ok_2', MessageBody: '{"n":2}' },
        ],
      }),
    );
    expect(result.Successful!.map((entry) => entry.Id)).toEqual(['ok-1', 'ok_2']);
    expect(result.Failed).toEqual([{ Id: 'bad', SenderFault: true, Code: 'InvalidMessageContents', Message: expect.any(String) }]);

    const entries = (ids: string[]) => ids.map((Id) => ({ Id, MessageBody: Id }));
    await expect(client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries(['x', 'x']) }))).rejects.toBeInstanceOf(BatchEntryIdsNotDistinct);
    await expect(
      client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries(Array.from({ length: 11 }, (_, i) => `e${i}`)) })),
    ).rejects.toBeInstanceOf(TooManyEntriesInBatchRequest);
    await expect(client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries(['not ok!']) }))).rejects.toMatchObject({ name: 'InvalidBatchEntryId' });
    await expect(
      client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: 'x'.repeat(600_000) }, { Id: 'b', MessageBody: 'x'.repeat(600_000) }] })),
    ).rejects.toMatchObject({ name: 'BatchRequestTooLong' });
    expect(await counts(url)).toEqual({ visible: 2, inFlight: 0, delayed: 0 });
  });

  it('refuses a message over the 1 MiB limit', async () => {
    const { url } = await queue();
    await expect(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(1_048_577) }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('shorter than 1048576 bytes'),
    });
    await expect(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(1_048_576) }))).resolves.toBeDefined();
  });

  it('deletes in batches, each entry on its own', async () => {
    const { url } = await queue();
    await client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [1, 2, 3].map((n) => ({ Id: `m${n}`, MessageBody: `m${n}` })) }));
    const messages = (await receive(url)).Messages!;
    expect(messages).toHaveLength(3);
    const result = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          ...messages.slice(0, 2).map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })),
          { Id: 'bogus', ReceiptHandle: 'not-a-handle' },
        ],
      }),
    );
    expect(result.Successful!.map((e) => e.Id)).toEqual(['d0', 'd1']);
    expect(result.Failed).toEqual([{ Id: 'bogus', SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: expect.any(String) }]);
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
  });

  it('long-polls: answers as soon as a message arrives, and after WaitTimeSeconds when none does', async () => {
    const { url } = await queue();
    const started = Date.now();
    setTimeout(() => void client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'late' })), 300);
    const received = await receive(url, { WaitTimeSeconds: 10 });
    expect(received.Messages![0]!.Body).toBe('late');
    expect(Date.now() - started).toBeLessThan(2_000);

    const emptyStarted = Date.now();
    expect((await receive(url, { WaitTimeSeconds: 1 })).Messages).toBeUndefined();
    expect(Date.now() - emptyStarted).toBeGreaterThanOrEqual(950);
  });

  it('takes nothing for a long poll its client abandoned', async () => {
    const { url } = await queue();
    const controller = new AbortController();
    const pending = client
      .send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 10 }), { abortSignal: controller.signal })
      .catch((error: Error) => error.name);
    await sleep(100);
    controller.abort();
    expect(await pending).toBe('AbortError');
    await sleep(50);
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'for the next poller' }));
    const [message] = (await receive(url, { WaitTimeSeconds: 1 })).Messages!;
    expect(message!.Attributes!.ApproximateReceiveCount).toBe('1');
  });

  it('counts delayed messages and supports message attributes with their MD5', async () => {
    const { url } = await queue();
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'later', DelaySeconds: 1 }));
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'now',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'test' }, size: { DataType: 'Number', StringValue: '3' } },
      }),
    );
    expect(sent.MD5OfMessageAttributes).toBe(
      md5OfMessageAttributes({ kind: { DataType: 'String', StringValue: 'test' }, size: { DataType: 'Number', StringValue: '3' } }),
    );
    // A value SQS itself computed (from a recorded Lambda event).
    expect(md5OfMessageAttributes({ AtTimestamp: { DataType: 'String', StringValue: '2021-02-15T12:00:33+09:00' } })).toBe('9fd5e217089075be61cd1d67e35e5117');
    expect(await counts(url)).toEqual({ visible: 1, inFlight: 0, delayed: 1 });
    const [message] = (await receive(url, { MessageAttributeNames: ['All'] })).Messages!;
    expect(message).toMatchObject({ Body: 'now', MD5OfMessageAttributes: sent.MD5OfMessageAttributes, MessageAttributes: { kind: { DataType: 'String', StringValue: 'test' } } });
    await client.send(new PurgeQueueCommand({ QueueUrl: url }));
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });
});
