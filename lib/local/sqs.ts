/**
 * A local Amazon SQS: an in-memory, standard-queue SQS that speaks the AWS JSON 1.0 protocol
 * (`X-Amz-Target: AmazonSQS.<Operation>`) used by `@aws-sdk/client-sqs` v3, so the product's SQS
 * adapters and the local event source run unchanged against it.
 *
 * What matters for the product is emulated as SQS documents it: visibility timeouts, a new
 * receipt handle and a higher ApproximateReceiveCount on every receive, redrive to the
 * dead-letter queue once a receive would exceed maxReceiveCount, long polling that answers as
 * soon as a message is available, retention, delays, batch rules and the exact error types. See
 * lib/local/README.md for the list of operations and where it differs from AWS.
 *
 * Any credentials are accepted (signatures are not checked). State lives in memory only.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { z } from 'zod';
import type { EmulatorLog } from './log.ts';
import { BodyTooLarge, closeServer, listen, readBody } from './net.ts';

export interface SqsEmulatorOptions {
  /** Interface to bind; 127.0.0.1 by default. */
  host?: string;
  /** 0 (the default) for any free port. */
  port?: number;
  /** For queue ARNs; us-east-1 by default. */
  region?: string;
  /** For queue URLs and ARNs; 000000000000 by default. */
  accountId?: string;
  /** Where malformed requests and internal failures are reported. */
  log?: EmulatorLog;
}

/** One queue as tests see it, without touching its messages' visibility. */
export interface QueueView {
  name: string;
  url: string;
  arn: string;
  /** ApproximateNumberOfMessages: receivable now. */
  visible: number;
  /** ApproximateNumberOfMessagesNotVisible: received and not yet deleted or visible again. */
  inFlight: number;
  /** ApproximateNumberOfMessagesDelayed. */
  delayed: number;
  visibilityTimeoutSeconds: number;
  redrivePolicy?: RedrivePolicy;
}

/** One stored message as tests see it. */
export interface MessageView {
  messageId: string;
  body: string;
  receiveCount: number;
  state: 'visible' | 'inFlight' | 'delayed';
  /** Where a dead-lettered message came from. */
  deadLetterSourceArn?: string;
}

export interface SqsEmulator {
  /** The endpoint for SQSClient (`SQS_ENDPOINT`): `http://127.0.0.1:<port>`. */
  endpoint: string;
  port: number;
  /** `http://127.0.0.1:<port>/000000000000/<name>`, whether or not the queue exists. */
  queueUrl(name: string): string;
  /** `arn:aws:sqs:us-east-1:000000000000:<name>`. */
  queueArn(name: string): string;
  /** Every queue with its counts. */
  queues(): QueueView[];
  /** A queue's messages (undefined when there is no such queue). */
  messages(name: string): MessageView[] | undefined;
  /** Answers pending long polls with no messages and closes the server. */
  stop(): Promise<void>;
}

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

// ─── Limits (AWS's documented quotas) ───────────────────────────────────────────────────────

/** Message (body and attributes) and whole-batch size limit: 1 MiB since August 2025. */
export const MAX_MESSAGE_BYTES = 1_048_576;
const MAX_BATCH_ENTRIES = 10;
const MAX_WAIT_SECONDS = 20;
const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;
const MAX_DELAY_SECONDS = 15 * 60;
const MAX_REQUEST_BYTES = 4 * MAX_MESSAGE_BYTES;
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
/** Whether a body holds a character SQS refuses: it allows XML 1.0's characters only. */
function hasInvalidCharacter(text: string): boolean {
  for (const character of text) {
    const code = character.codePointAt(0)!;
    const allowed =
      code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || code >= 0x10000;
    if (!allowed) return true;
  }
  return false;
}

const QUEUE_ATTRIBUTE_DEFAULTS = {
  VisibilityTimeout: 30,
  MessageRetentionPeriod: 345_600,
  DelaySeconds: 0,
  ReceiveMessageWaitTimeSeconds: 0,
  MaximumMessageSize: MAX_MESSAGE_BYTES,
};

// ─── Errors ───────────────────────────────────────────────────────────────────────────────

/**
 * The errors the SDK knows: `__type` picks the exception class, `x-amzn-query-error` gives the
 * legacy query code (`error.Code`), as SQS answers in its JSON protocol.
 */
const ERRORS = {
  QueueDoesNotExist: { status: 400, queryCode: 'AWS.SimpleQueueService.NonExistentQueue' },
  QueueNameExists: { status: 400, queryCode: 'QueueAlreadyExists' },
  InvalidParameterValue: { status: 400, queryCode: 'InvalidParameterValue' },
  MissingParameter: { status: 400, queryCode: 'MissingParameter' },
  InvalidAttributeName: { status: 400, queryCode: 'InvalidAttributeName' },
  InvalidAttributeValue: { status: 400, queryCode: 'InvalidAttributeValue' },
  InvalidMessageContents: { status: 400, queryCode: 'InvalidMessageContents' },
  ReceiptHandleIsInvalid: { status: 404, queryCode: 'ReceiptHandleIsInvalid' },
  MessageNotInflight: { status: 400, queryCode: 'AWS.SimpleQueueService.MessageNotInflight' },
  EmptyBatchRequest: { status: 400, queryCode: 'AWS.SimpleQueueService.EmptyBatchRequest' },
  TooManyEntriesInBatchRequest: { status: 400, queryCode: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest' },
  BatchEntryIdsNotDistinct: { status: 400, queryCode: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct' },
  InvalidBatchEntryId: { status: 400, queryCode: 'AWS.SimpleQueueService.InvalidBatchEntryId' },
  BatchRequestTooLong: { status: 400, queryCode: 'AWS.SimpleQueueService.BatchRequestTooLong' },
  UnsupportedOperation: { status: 400, queryCode: 'AWS.SimpleQueueService.UnsupportedOperation' },
  ResourceNotFoundException: { status: 404, queryCode: 'ResourceNotFoundException' },
  UnknownOperationException: { status: 400, queryCode: 'UnknownOperationException' },
  InternalFailure: { status: 500, queryCode: 'InternalFailure' },
} as const;

type ErrorType = keyof typeof ERRORS;

/** An SQS error answer; also the per-entry failure of a batch operation. */
class SqsError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
  ) {
    super(message);
  }
  get senderFault(): boolean {
    return ERRORS[this.type].status < 500;
  }
}

const invalid = (message: string) => new SqsError('InvalidParameterValue', message);

// ─── Request schemas ────────────────────────────────────────────────────────────────────────

const int = z.number().int();
const attributeValue = z.object({
  DataType: z.string().regex(/^(String|Number|Binary)(\..+)?$/, 'DataType must be String, Number or Binary (with an optional .suffix)'),
  StringValue: z.string().optional(),
  /** Base64 in the JSON protocol. */
  BinaryValue: z.string().optional(),
  StringListValues: z.array(z.string()).max(0, 'list values are reserved by SQS').optional(),
  BinaryListValues: z.array(z.string()).max(0, 'list values are reserved by SQS').optional(),
});
type MessageAttributeValue = z.infer<typeof attributeValue>;
const messageAttributes = z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,256}$/, 'invalid attribute name'), attributeValue).optional();
const queueUrl = z.string().min(1);
const batchEntryId = z.string();
const stringMap = z.record(z.string(), z.string());

/** One message to send: SendMessage's own fields, and each entry of SendMessageBatch. */
const messageToSend = z.object({
  MessageBody: z.string(),
  DelaySeconds: int.optional(),
  MessageAttributes: messageAttributes,
  MessageSystemAttributes: z.record(z.string(), attributeValue).optional(),
  MessageGroupId: z.string().optional(),
  MessageDeduplicationId: z.string().optional(),
});

const schemas = {
  CreateQueue: z.object({ QueueName: z.string(), Attributes: stringMap.optional(), tags: stringMap.optional() }),
  GetQueueUrl: z.object({ QueueName: z.string(), QueueOwnerAWSAccountId: z.string().optional() }),
  ListQueues: z.object({ QueueNamePrefix: z.string().optional(), MaxResults: int.min(1).max(1000).optional(), NextToken: z.string().optional() }),
  GetQueueAttributes: z.object({ QueueUrl: queueUrl, AttributeNames: z.array(z.string()).optional() }),
  SetQueueAttributes: z.object({ QueueUrl: queueUrl, Attributes: stringMap }),
  SendMessage: messageToSend.extend({ QueueUrl: queueUrl }),
  SendMessageBatch: z.object({ QueueUrl: queueUrl, Entries: z.array(messageToSend.extend({ Id: batchEntryId })) }),
  ReceiveMessage: z.object({
    QueueUrl: queueUrl,
    MaxNumberOfMessages: int.optional(),
    WaitTimeSeconds: int.optional(),
    VisibilityTimeout: int.optional(),
    AttributeNames: z.array(z.string()).optional(),
    MessageSystemAttributeNames: z.array(z.string()).optional(),
    MessageAttributeNames: z.array(z.string()).optional(),
    ReceiveRequestAttemptId: z.string().optional(),
  }),
  DeleteMessage: z.object({ QueueUrl: queueUrl, ReceiptHandle: z.string() }),
  DeleteMessageBatch: z.object({ QueueUrl: queueUrl, Entries: z.array(z.object({ Id: batchEntryId, ReceiptHandle: z.string() })) }),
  ChangeMessageVisibility: z.object({ QueueUrl: queueUrl, ReceiptHandle: z.string(), VisibilityTimeout: int }),
  ChangeMessageVisibilityBatch: z.object({
    QueueUrl: queueUrl,
    Entries: z.array(z.object({ Id: batchEntryId, ReceiptHandle: z.string(), VisibilityTimeout: int.optional() })),
  }),
  PurgeQueue: z.object({ QueueUrl: queueUrl }),
  DeleteQueue: z.object({ QueueUrl: queueUrl }),
  StartMessageMoveTask: z.object({ SourceArn: z.string(), DestinationArn: z.string().optional(), MaxNumberOfMessagesPerSecond: int.optional() }),
  ListMessageMoveTasks: z.object({ SourceArn: z.string(), MaxResults: int.optional() }),
} as const;

type Operation = keyof typeof schemas;
type Input<O extends Operation> = z.infer<(typeof schemas)[O]>;

const redrivePolicySchema = z.object({
  deadLetterTargetArn: z.string().startsWith('arn:aws:sqs:'),
  maxReceiveCount: z.coerce.number().int().min(1).max(1000),
});

// ─── State ──────────────────────────────────────────────────────────────────────────────────

interface StoredMessage {
  id: string;
  body: string;
  md5OfBody: string;
  attributes?: Record<string, MessageAttributeValue>;
  sentAt: number;
  /** When it can be received (delay, or the end of its visibility timeout). */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** The receipt handle of its latest receive. */
  receipt?: string;
  deadLetterSourceArn?: string;
}

interface QueueAttributes {
  VisibilityTimeout: number;
  MessageRetentionPeriod: number;
  DelaySeconds: number;
  ReceiveMessageWaitTimeSeconds: number;
  MaximumMessageSize: number;
  RedrivePolicy?: RedrivePolicy;
}

interface Queue {
  name: string;
  url: string;
  arn: string;
  attributes: QueueAttributes;
  createdAt: number;
  modifiedAt: number;
  /** In send order: receives look at the oldest first, like a lightly loaded SQS queue. */
  messages: Map<string, StoredMessage>;
  /** Long polls waiting for a message. */
  waiters: Set<() => void>;
}

interface MoveTask {
  TaskHandle: string;
  Status: 'COMPLETED';
  SourceArn: string;
  DestinationArn?: string;
  ApproximateNumberOfMessagesMoved: number;
  ApproximateNumberOfMessagesToMove: number;
  StartedTimestamp: number;
}

const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');

/** SQS's MD5OfMessageAttributes: sorted names, each as length-prefixed name, type, transport byte and value. */
export function md5OfMessageAttributes(attributes: Record<string, MessageAttributeValue>): string {
  const parts: Buffer[] = [];
  const prefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const value = attributes[name]!;
    prefixed(Buffer.from(name, 'utf8'));
    prefixed(Buffer.from(value.DataType, 'utf8'));
    if (value.DataType.startsWith('Binary')) {
      parts.push(Buffer.from([2]));
      prefixed(Buffer.from(value.BinaryValue ?? '', 'base64'));
    } else {
      parts.push(Buffer.from([1]));
      prefixed(Buffer.from(value.StringValue ?? '', 'utf8'));
    }
  }
  return md5(Buffer.concat(parts));
}

function attributesSize(attributes: Record<string, MessageAttributeValue> | undefined): number {
  let size = 0;
  for (const [name, value] of Object.entries(attributes ?? {})) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType);
    size += value.BinaryValue === undefined ? Buffer.byteLength(value.StringValue ?? '') : Buffer.from(value.BinaryValue, 'base64').length;
  }
  return size;
}

function validateAttributes(attributes: Record<string, MessageAttributeValue> | undefined): void {
  const entries = Object.entries(attributes ?? {});
  if (entries.length > 10) throw invalid('Number of message attributes [' + entries.length + '] exceeds the allowed maximum [10].');
  for (const [name, value] of entries) {
    const binary = value.DataType.startsWith('Binary');
    if (binary ? value.BinaryValue === undefined : value.StringValue === undefined) {
      throw invalid(`The message attribute '${name}' must contain a non-empty message attribute value for message attribute type '${value.DataType}'.`);
    }
    if (value.DataType.startsWith('Number') && !Number.isFinite(Number(value.StringValue))) {
      throw invalid(`Can't cast the value of message attribute '${name}' to a number.`);
    }
  }
}

// ─── Receipt handles ────────────────────────────────────────────────────────────────────────

const receiptSchema = z.object({ q: z.string(), m: z.string(), n: z.number().int() });

function makeReceipt(queue: string, message: StoredMessage): string {
  const payload = Buffer.from(JSON.stringify({ q: queue, m: message.id, n: message.receiveCount })).toString('base64url');
  return `${payload}.${randomBytes(12).toString('base64url')}`;
}

function parseReceipt(handle: string, queue: Queue): { messageId: string } {
  try {
    const parsed = receiptSchema.safeParse(JSON.parse(Buffer.from(handle.split('.')[0] ?? '', 'base64url').toString('utf8')));
    if (parsed.success && parsed.data.q === queue.name) return { messageId: parsed.data.m };
  } catch {
    // Not one of ours: answered below.
  }
  throw new SqsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle.slice(0, 100)}" is not a valid receipt handle.`);
}

// ─── The server ─────────────────────────────────────────────────────────────────────────────

const RECEIVABLE_SYSTEM_ATTRIBUTES = ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp', 'SentTimestamp', 'SenderId', 'DeadLetterQueueSourceArn'];
const QUEUE_ATTRIBUTE_NAMES = [
  'All',
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
  'VisibilityTimeout',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'DelaySeconds',
  'ReceiveMessageWaitTimeSeconds',
  'RedrivePolicy',
  'SqsManagedSseEnabled',
  'Policy',
  'RedriveAllowPolicy',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
];

/** Starts the local SQS on `host:port` (a free port by default). */
export async function startSqsEmulator(options: SqsEmulatorOptions = {}): Promise<SqsEmulator> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const log = options.log;
  const queues = new Map<string, Queue>();
  const moveTasks = new Map<string, MoveTask[]>();
  let port = 0;
  let stopping = false;

  const queueUrlOf = (name: string) => `http://${host}:${port}/${accountId}/${name}`;
  const queueArnOf = (name: string) => `arn:aws:sqs:${region}:${accountId}:${name}`;

  function queueByUrl(url: string): Queue {
    // Any host is accepted (as SQS accepts its regional and legacy endpoints); the path names the queue.
    let segments: string[];
    try {
      segments = new URL(url).pathname.split('/').filter(Boolean);
    } catch {
      segments = [];
    }
    const queue = segments.length === 2 && segments[0] === accountId ? queues.get(segments[1]!) : undefined;
    if (!queue) throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }

  const queueByArn = (arn: string) => [...queues.values()].find((queue) => queue.arn === arn);

  const stateOf = (message: StoredMessage, now: number): MessageView['state'] =>
    message.visibleAt <= now ? 'visible' : message.receiveCount > 0 ? 'inFlight' : 'delayed';

  /** Drops the messages past their queue's retention (counted from when they were first sent). */
  function expire(queue: Queue, now: number): void {
    const retentionMs = queue.attributes.MessageRetentionPeriod * 1000;
    for (const [id, message] of queue.messages) if (now - message.sentAt >= retentionMs) queue.messages.delete(id);
  }

  function wake(queue: Queue): void {
    for (const waiter of [...queue.waiters]) waiter();
  }

  function counts(queue: Queue, now = Date.now()) {
    expire(queue, now);
    const result = { visible: 0, inFlight: 0, delayed: 0 };
    for (const message of queue.messages.values()) result[stateOf(message, now)] += 1;
    return result;
  }

  function parseQueueAttributes(raw: Record<string, string>, base: QueueAttributes): QueueAttributes {
    const next: QueueAttributes = { ...base };
    const integer = (name: string, value: string, min: number, max: number): number => {
      const parsed = Number(value);
      if (!/^\d+$/.test(value) || parsed < min || parsed > max) throw new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${name}.`);
      return parsed;
    };
    for (const [name, value] of Object.entries(raw)) {
      switch (name) {
        case 'VisibilityTimeout':
          next.VisibilityTimeout = integer(name, value, 0, MAX_VISIBILITY_SECONDS);
          break;
        case 'MessageRetentionPeriod':
          next.MessageRetentionPeriod = integer(name, value, 60, 1_209_600);
          break;
        case 'DelaySeconds':
          next.DelaySeconds = integer(name, value, 0, MAX_DELAY_SECONDS);
          break;
        case 'ReceiveMessageWaitTimeSeconds':
          next.ReceiveMessageWaitTimeSeconds = integer(name, value, 0, MAX_WAIT_SECONDS);
          break;
        case 'MaximumMessageSize':
          next.MaximumMessageSize = integer(name, value, 1024, MAX_MESSAGE_BYTES);
          break;
        case 'RedrivePolicy': {
          if (value === '') {
            delete next.RedrivePolicy;
            break;
          }
          let parsed: z.ZodSafeParseResult<RedrivePolicy>;
          try {
            parsed = redrivePolicySchema.safeParse(JSON.parse(value));
          } catch {
            throw new SqsError('InvalidAttributeValue', 'Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map.');
          }
          if (!parsed.success) {
            throw new SqsError('InvalidAttributeValue', `Invalid value for the parameter RedrivePolicy. Reason: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
          }
          if (!queueByArn(parsed.data.deadLetterTargetArn)) {
            throw new SqsError('InvalidAttributeValue', 'Value for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.');
          }
          next.RedrivePolicy = parsed.data;
          break;
        }
        case 'FifoQueue':
          if (value === 'true') throw new SqsError('InvalidAttributeValue', 'FIFO queues are not supported by the local SQS emulator (standard queues only).');
          break;
        case 'Policy':
        case 'RedriveAllowPolicy':
        case 'SqsManagedSseEnabled':
        case 'KmsMasterKeyId':
        case 'KmsDataKeyReusePeriodSeconds':
          // Accepted and ignored: access control and encryption do not exist locally.
          break;
        default:
          throw new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
      }
    }
    return next;
  }

  function queueAttributes(queue: Queue, names: readonly string[]): Record<string, string> {
    for (const name of names) if (!QUEUE_ATTRIBUTE_NAMES.includes(name)) throw new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    const { visible, inFlight, delayed } = counts(queue);
    const { RedrivePolicy, ...settings } = queue.attributes;
    const all: Record<string, string> = {
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(visible),
      ApproximateNumberOfMessagesNotVisible: String(inFlight),
      ApproximateNumberOfMessagesDelayed: String(delayed),
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(queue.modifiedAt / 1000)),
      ...Object.fromEntries(Object.entries(settings).map(([name, value]) => [name, String(value)])),
      SqsManagedSseEnabled: 'false',
      ...(RedrivePolicy ? { RedrivePolicy: JSON.stringify(RedrivePolicy) } : {}),
    };
    if (names.includes('All')) return all;
    return Object.fromEntries(names.filter((name) => name in all).map((name) => [name, all[name]!]));
  }

  function storeMessage(queue: Queue, entry: Input<'SendMessage'>, now: number): StoredMessage {
    if (entry.MessageGroupId !== undefined || entry.MessageDeduplicationId !== undefined) {
      // MessageGroupId on a standard queue turns on fair queues in AWS; not emulated, so refused rather than ignored.
      throw invalid('MessageGroupId and MessageDeduplicationId are not supported by the local SQS emulator (standard queues only, no fair queues).');
    }
    if (entry.MessageBody.length === 0) throw invalid('The request must contain a non-empty message body.');
    if (hasInvalidCharacter(entry.MessageBody)) {
      throw new SqsError('InvalidMessageContents', 'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF');
    }
    validateAttributes(entry.MessageAttributes);
    const size = Buffer.byteLength(entry.MessageBody, 'utf8') + attributesSize(entry.MessageAttributes);
    if (size > queue.attributes.MaximumMessageSize) {
      throw invalid(`One or more parameters are invalid. Reason: Message must be shorter than ${queue.attributes.MaximumMessageSize} bytes.`);
    }
    const delay = entry.DelaySeconds ?? queue.attributes.DelaySeconds;
    if (delay < 0 || delay > MAX_DELAY_SECONDS) throw invalid(`Value ${delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.`);
    const hasAttributes = entry.MessageAttributes && Object.keys(entry.MessageAttributes).length > 0;
    const message: StoredMessage = {
      id: randomUUID(),
      body: entry.MessageBody,
      md5OfBody: md5(Buffer.from(entry.MessageBody, 'utf8')),
      ...(hasAttributes ? { attributes: entry.MessageAttributes } : {}),
      sentAt: now,
      visibleAt: now + delay * 1000,
      receiveCount: 0,
    };
    queue.messages.set(message.id, message);
    return message;
  }

  function sendResult(message: StoredMessage) {
    return {
      MessageId: message.id,
      MD5OfMessageBody: message.md5OfBody,
      ...(message.attributes ? { MD5OfMessageAttributes: md5OfMessageAttributes(message.attributes) } : {}),
    };
  }

  function moveToDeadLetterQueue(source: Queue, message: StoredMessage, deadLetterQueue: Queue, now: number): void {
    source.messages.delete(message.id);
    // The receive count and the original send time go along, as in SQS.
    deadLetterQueue.messages.set(message.id, { ...message, visibleAt: now, deadLetterSourceArn: source.arn, receipt: undefined });
    wake(deadLetterQueue);
  }

  /** Takes up to `max` receivable messages, redriving those past maxReceiveCount on the way. */
  function take(queue: Queue, max: number, visibilitySeconds: number): StoredMessage[] {
    const now = Date.now();
    expire(queue, now);
    const policy = queue.attributes.RedrivePolicy;
    const deadLetterQueue = policy ? queueByArn(policy.deadLetterTargetArn) : undefined;
    const taken: StoredMessage[] = [];
    for (const message of [...queue.messages.values()]) {
      if (taken.length >= max) break;
      if (message.visibleAt > now) continue;
      if (policy && deadLetterQueue && message.receiveCount >= policy.maxReceiveCount) {
        moveToDeadLetterQueue(queue, message, deadLetterQueue, now);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + visibilitySeconds * 1000;
      message.receipt = makeReceipt(queue.name, message);
      taken.push(message);
    }
    return taken;
  }

  function wantedNames(requested: readonly string[], known: readonly string[]): string[] {
    if (requested.includes('All') || requested.includes('.*')) return [...known];
    return known.filter((name) => requested.some((pattern) => pattern === name || (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1)))));
  }

  function receivedMessage(message: StoredMessage, input: Input<'ReceiveMessage'>) {
    const systemNames = wantedNames([...(input.MessageSystemAttributeNames ?? []), ...(input.AttributeNames ?? [])], RECEIVABLE_SYSTEM_ATTRIBUTES);
    const systemValues: Record<string, string | undefined> = {
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
      SentTimestamp: String(message.sentAt),
      SenderId: accountId,
      DeadLetterQueueSourceArn: message.deadLetterSourceArn,
    };
    const attributes = Object.fromEntries(systemNames.flatMap((name) => (systemValues[name] === undefined ? [] : [[name, systemValues[name]]])));
    const attributeNames = wantedNames(input.MessageAttributeNames ?? [], Object.keys(message.attributes ?? {}));
    const returned = Object.fromEntries(attributeNames.map((name) => [name, message.attributes![name]!]));
    return {
      MessageId: message.id,
      ReceiptHandle: message.receipt,
      MD5OfBody: message.md5OfBody,
      Body: message.body,
      ...(Object.keys(attributes).length ? { Attributes: attributes } : {}),
      ...(attributeNames.length ? { MessageAttributes: returned, MD5OfMessageAttributes: md5OfMessageAttributes(returned) } : {}),
    };
  }

  /** Resolves when the queue may have a receivable message, after `ms`, at stop, or when cancelled (the poller left). */
  function waitForMessage(queue: Queue, ms: number, onCancel: (cancel: () => void) => void): Promise<void> {
    return new Promise((resolve) => {
      const now = Date.now();
      // Wake up too when an in-flight or delayed message becomes visible.
      let soonest = now + ms;
      for (const message of queue.messages.values()) if (message.visibleAt > now && message.visibleAt < soonest) soonest = message.visibleAt;
      const done = () => {
        clearTimeout(timer);
        queue.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, soonest - now));
      queue.waiters.add(done);
      onCancel(done);
    });
  }

  function checkBatch(entries: readonly { Id: string }[]): void {
    if (entries.length === 0) throw new SqsError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
    if (entries.length > MAX_BATCH_ENTRIES) {
      throw new SqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`);
    }
    const seen = new Set<string>();
    for (const { Id } of entries) {
      if (!BATCH_ENTRY_ID.test(Id)) {
        throw new SqsError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.');
      }
      if (seen.has(Id)) throw new SqsError('BatchEntryIdsNotDistinct', `Id ${Id} repeated.`);
      seen.add(Id);
    }
  }

  /** Runs a batch operation entry by entry: each answers Successful or Failed on its own. */
  function perEntry<E extends { Id: string }, R>(entries: readonly E[], run: (entry: E) => R) {
    checkBatch(entries);
    const Successful: (R & { Id: string })[] = [];
    const Failed: { Id: string; SenderFault: boolean; Code: string; Message: string }[] = [];
    for (const entry of entries) {
      try {
        Successful.push({ ...run(entry), Id: entry.Id });
      } catch (error) {
        if (!(error instanceof SqsError)) throw error;
        Failed.push({ Id: entry.Id, SenderFault: error.senderFault, Code: error.type, Message: error.message });
      }
    }
    return { Successful, Failed };
  }

  function deleteMessage(queue: Queue, handle: string): void {
    const { messageId } = parseReceipt(handle, queue);
    // Standard queues delete even with the handle of an earlier receive; a deleted message is no error.
    queue.messages.delete(messageId);
  }

  function changeVisibility(queue: Queue, handle: string, seconds: number): void {
    if (seconds < 0 || seconds > MAX_VISIBILITY_SECONDS) {
      throw invalid(`Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.`);
    }
    const { messageId } = parseReceipt(handle, queue);
    const message = queue.messages.get(messageId);
    const now = Date.now();
    if (!message) {
      throw invalid(`Value ${handle.slice(0, 100)} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`);
    }
    if (stateOf(message, now) !== 'inFlight') throw new SqsError('MessageNotInflight', 'The message referred to is not in flight.');
    message.visibleAt = now + seconds * 1000;
    if (seconds === 0) wake(queue);
  }

  const operations: { [O in Operation]: (input: Input<O>, response: ServerResponse) => unknown } = {
    CreateQueue(input) {
      if (input.QueueName.endsWith('.fifo')) throw invalid('FIFO queues are not supported by the local SQS emulator (standard queues only).');
      if (!QUEUE_NAME.test(input.QueueName)) {
        throw invalid('Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
      }
      const attributes = parseQueueAttributes(input.Attributes ?? {}, QUEUE_ATTRIBUTE_DEFAULTS);
      const existing = queues.get(input.QueueName);
      if (existing) {
        // Idempotent when the given attributes match, as in SQS.
        const differs = Object.keys(input.Attributes ?? {}).some(
          (name) => JSON.stringify(attributes[name as keyof QueueAttributes]) !== JSON.stringify(existing.attributes[name as keyof QueueAttributes]),
        );
        if (differs) throw new SqsError('QueueNameExists', 'A queue already exists with the same name and a different value for attribute(s).');
        return { QueueUrl: existing.url };
      }
      const now = Date.now();
      queues.set(input.QueueName, {
        name: input.QueueName,
        url: queueUrlOf(input.QueueName),
        arn: queueArnOf(input.QueueName),
        attributes,
        createdAt: now,
        modifiedAt: now,
        messages: new Map(),
        waiters: new Set(),
      });
      return { QueueUrl: queueUrlOf(input.QueueName) };
    },
    GetQueueUrl(input) {
      const queue = queues.get(input.QueueName);
      if (!queue) throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
      return { QueueUrl: queue.url };
    },
    ListQueues(input) {
      const names = [...queues.keys()].filter((name) => name.startsWith(input.QueueNamePrefix ?? '')).sort();
      const start = input.NextToken ? Number(Buffer.from(input.NextToken, 'base64url').toString('utf8')) : 0;
      if (!Number.isInteger(start) || start < 0) throw invalid('Invalid NextToken value.');
      const limit = input.MaxResults ?? 1000;
      const page = names.slice(start, start + limit);
      const more = input.MaxResults !== undefined && start + limit < names.length;
      return {
        ...(page.length ? { QueueUrls: page.map(queueUrlOf) } : {}),
        ...(more ? { NextToken: Buffer.from(String(start + limit)).toString('base64url') } : {}),
      };
    },
    GetQueueAttributes(input) {
      const queue = queueByUrl(input.QueueUrl);
      const attributes = queueAttributes(queue, input.AttributeNames ?? []);
      return Object.keys(attributes).length ? { Attributes: attributes } : {};
    },
    SetQueueAttributes(input) {
      const queue = queueByUrl(input.QueueUrl);
      queue.attributes = parseQueueAttributes(input.Attributes, queue.attributes);
      queue.modifiedAt = Date.now();
      return {};
    },
    SendMessage(input) {
      const queue = queueByUrl(input.QueueUrl);
      const message = storeMessage(queue, input, Date.now());
      wake(queue);
      return sendResult(message);
    },
    SendMessageBatch(input) {
      const queue = queueByUrl(input.QueueUrl);
      checkBatch(input.Entries);
      const total = input.Entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody, 'utf8') + attributesSize(entry.MessageAttributes), 0);
      if (total > MAX_MESSAGE_BYTES) {
        throw new SqsError('BatchRequestTooLong', `Batch requests cannot be longer than ${MAX_MESSAGE_BYTES} bytes. You have sent ${total} bytes.`);
      }
      const now = Date.now();
      const result = perEntry(input.Entries, (entry) => sendResult(storeMessage(queue, { ...entry, QueueUrl: input.QueueUrl }, now)));
      if (result.Successful.length) wake(queue);
      return result;
    },
    async ReceiveMessage(input, response) {
      const queue = queueByUrl(input.QueueUrl);
      const max = input.MaxNumberOfMessages ?? 1;
      if (max < 1 || max > MAX_BATCH_ENTRIES) {
        throw invalid(`Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`);
      }
      const wait = input.WaitTimeSeconds ?? queue.attributes.ReceiveMessageWaitTimeSeconds;
      if (wait < 0 || wait > MAX_WAIT_SECONDS) {
        throw invalid(`Value ${wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.`);
      }
      const visibility = input.VisibilityTimeout ?? queue.attributes.VisibilityTimeout;
      if (visibility < 0 || visibility > MAX_VISIBILITY_SECONDS) {
        throw invalid(`Value ${visibility} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.`);
      }
      const deadline = Date.now() + wait * 1000;
      let gone = false;
      let stopWaiting: (() => void) | undefined;
      response.once('close', () => {
        gone = true;
        stopWaiting?.();
      });
      let taken = take(queue, max, visibility);
      while (taken.length === 0 && !gone && !stopping && Date.now() < deadline && queues.get(queue.name) === queue) {
        await waitForMessage(queue, deadline - Date.now(), (cancel) => (stopWaiting = cancel));
        // The poller went away (aborted, or the emulator stops): nothing is taken for it.
        if (gone || stopping) return {};
        taken = take(queue, max, visibility);
      }
      return taken.length ? { Messages: taken.map((message) => receivedMessage(message, input)) } : {};
    },
    DeleteMessage(input) {
      deleteMessage(queueByUrl(input.QueueUrl), input.ReceiptHandle);
      return {};
    },
    DeleteMessageBatch(input) {
      const queue = queueByUrl(input.QueueUrl);
      return perEntry(input.Entries, (entry) => {
        deleteMessage(queue, entry.ReceiptHandle);
        return {};
      });
    },
    ChangeMessageVisibility(input) {
      changeVisibility(queueByUrl(input.QueueUrl), input.ReceiptHandle, input.VisibilityTimeout);
      return {};
    },
    ChangeMessageVisibilityBatch(input) {
      const queue = queueByUrl(input.QueueUrl);
      return perEntry(input.Entries, (entry) => {
        changeVisibility(queue, entry.ReceiptHandle, entry.VisibilityTimeout ?? 0);
        return {};
      });
    },
    PurgeQueue(input) {
      queueByUrl(input.QueueUrl).messages.clear();
      return {};
    },
    DeleteQueue(input) {
      const queue = queueByUrl(input.QueueUrl);
      queues.delete(queue.name);
      wake(queue);
      return {};
    },
    StartMessageMoveTask(input) {
      const source = queueByArn(input.SourceArn);
      if (!source) throw new SqsError('ResourceNotFoundException', 'The resource that you specified for the SourceArn parameter doesn\'t exist.');
      const isDeadLetterQueue = [...queues.values()].some((queue) => queue.attributes.RedrivePolicy?.deadLetterTargetArn === source.arn);
      if (!isDeadLetterQueue) throw invalid('Source queue must be configured as a Dead Letter Queue.');
      const fixed = input.DestinationArn === undefined ? undefined : queueByArn(input.DestinationArn);
      if (input.DestinationArn !== undefined && !fixed) {
        throw new SqsError('ResourceNotFoundException', 'The resource that you specified for the DestinationArn parameter doesn\'t exist.');
      }
      const now = Date.now();
      const toMove = source.messages.size;
      let moved = 0;
      for (const message of [...source.messages.values()]) {
        const destination = fixed ?? (message.deadLetterSourceArn ? queueByArn(message.deadLetterSourceArn) : undefined);
        if (!destination) continue;
        source.messages.delete(message.id);
        // Moved messages start over: a fresh receive count, so they get maxReceiveCount tries again.
        destination.messages.set(message.id, { id: message.id, body: message.body, md5OfBody: message.md5OfBody, attributes: message.attributes, sentAt: message.sentAt, visibleAt: now, receiveCount: 0 });
        wake(destination);
        moved += 1;
      }
      const task: MoveTask = {
        TaskHandle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn: source.arn })).toString('base64'),
        Status: 'COMPLETED',
        SourceArn: source.arn,
        ...(input.DestinationArn ? { DestinationArn: input.DestinationArn } : {}),
        ApproximateNumberOfMessagesMoved: moved,
        ApproximateNumberOfMessagesToMove: toMove,
        StartedTimestamp: now,
      };
      moveTasks.set(source.arn, [task, ...(moveTasks.get(source.arn) ?? [])]);
      return { TaskHandle: task.TaskHandle };
    },
    ListMessageMoveTasks(input) {
      if (!queueByArn(input.SourceArn)) throw new SqsError('ResourceNotFoundException', 'The resource that you specified for the SourceArn parameter doesn\'t exist.');
      return { Results: (moveTasks.get(input.SourceArn) ?? []).slice(0, input.MaxResults ?? 1) };
    },
  };

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      ...headers,
    });
    res.end(text);
  }

  function sendError(res: ServerResponse, error: SqsError): void {
    const { status, queryCode } = ERRORS[error.type];
    send(res, status, { __type: `com.amazonaws.sqs#${error.type}`, message: error.message }, {
      'x-amzn-query-error': `${queryCode};${status >= 500 ? 'Receiver' : 'Sender'}`,
    });
  }

  function parseInput<O extends Operation>(operation: O, body: unknown): Input<O> {
    const parsed = schemas[operation].safeParse(body);
    if (parsed.success) return parsed.data as Input<O>;
    const issue = parsed.error.issues[0]!;
    let value: unknown = body;
    for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
    const parameter = issue.path.join('.');
    if (value === undefined) throw new SqsError('MissingParameter', `The request must contain the parameter ${parameter}.`);
    throw invalid(`Value for parameter ${parameter} is invalid. Reason: ${issue.message}.`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const target = req.headers['x-amz-target'];
      const operation = typeof target === 'string' && target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : undefined;
      if (req.method !== 'POST' || !operation) {
        throw new SqsError('UnknownOperationException', 'This endpoint speaks the SQS JSON protocol only: POST with X-Amz-Target: AmazonSQS.<Operation>.');
      }
      if (!(operation in schemas)) {
        throw new SqsError('UnsupportedOperation', `${operation} is not supported by the local SQS emulator (see lib/local/README.md).`);
      }
      let body: unknown;
      try {
        const raw = await readBody(req, MAX_REQUEST_BYTES);
        body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
      } catch (error) {
        if (error instanceof BodyTooLarge) throw invalid(`The request is larger than ${MAX_REQUEST_BYTES} bytes.`);
        throw invalid('The request body is not valid JSON.');
      }
      const op = operation as Operation;
      const run = operations[op] as (input: Input<typeof op>, response: ServerResponse) => unknown;
      const result = await run(parseInput(op, body), res);
      if (!res.destroyed) send(res, 200, result);
    } catch (error) {
      if (res.destroyed) return;
      if (error instanceof SqsError) {
        sendError(res, error);
        return;
      }
      log?.error('SQS emulator: the request failed', error);
      sendError(res, new SqsError('InternalFailure', 'The request processing has failed because of an unknown error.'));
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  port = await listen(server, options.port ?? 0, host);

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    queueUrl: queueUrlOf,
    queueArn: queueArnOf,
    queues: () =>
      [...queues.values()].map((queue) => ({
        name: queue.name,
        url: queue.url,
        arn: queue.arn,
        ...counts(queue),
        visibilityTimeoutSeconds: queue.attributes.VisibilityTimeout,
        ...(queue.attributes.RedrivePolicy ? { redrivePolicy: { ...queue.attributes.RedrivePolicy } } : {}),
      })),
    messages(name) {
      const queue = queues.get(name);
      if (!queue) return undefined;
      const now = Date.now();
      expire(queue, now);
      return [...queue.messages.values()].map((message) => ({
        messageId: message.id,
        body: message.body,
        receiveCount: message.receiveCount,
        state: stateOf(message, now),
        ...(message.deadLetterSourceArn ? { deadLetterSourceArn: message.deadLetterSourceArn } : {}),
      }));
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        for (const queue of queues.values()) wake(queue);
        // Let pending long polls answer (empty) before their sockets go.
        await new Promise((resolve) => setImmediate(resolve));
        const closing = closeServer(server);
        for (const socket of sockets) socket.destroy();
        await closing;
      })();
      return stopped;
    },
  };
}
