/**
 * A bench-side switch for the events queue publishing, to measure what it costs a send: with
 * publishing off, every `SendMessageBatch` a handler's SQS client would send is answered at once,
 * in process, as if SQS had taken every entry, and nothing goes on the wire. The use case runs
 * unchanged (it builds the events, awaits the publisher, counts `EventsPublished`); only the SQS
 * request and, since nothing reaches the queue, the consumer's confirmation are left out. No
 * product code or setting changes: like counters.ts, this wraps the SDK inside this process,
 * where the local runtime runs the handlers.
 *
 * It can also hold the queue consumers back: while held, what the local event source's
 * ReceiveMessage answers is kept from it until they are let go, so the consumer's work (its
 * invocation and the confirmation's UPDATE, which locally share this process's main thread with
 * the handlers; in AWS they run in a container of their own) happens after a measurement
 * instead of during it. Keep holds short: received messages become visible again after the
 * queue's visibility timeout.
 */
import { randomUUID } from 'node:crypto';
import { ReceiveMessageCommand, SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';

export interface PublishingSwitch {
  /** Whether SendMessageBatch goes to SQS (true, the product as it is) or is answered in process. */
  set(enabled: boolean): void;
  enabled(): boolean;
  /** SendMessageBatch calls answered in process since the switch was installed. */
  shortCircuited(): number;
  /** Holds the consumers' received messages back (true) or lets them, and any held, go (false). */
  holdConsumers(held: boolean): void;
  /** ReceiveMessage answers with messages that were held back since the switch was installed. */
  heldBack(): number;
  dispose(): void;
}

type Send = (this: SQSClient, command: unknown, ...rest: unknown[]) => Promise<unknown>;

export function installPublishingSwitch(): PublishingSwitch {
  const prototype = SQSClient.prototype as unknown as { send: Send };
  const hadOwn = Object.prototype.hasOwnProperty.call(prototype, 'send');
  const original = prototype.send;
  let enabled = true;
  let answered = 0;
  let holding = false;
  let held = 0;
  let waiting: (() => void)[] = [];
  const release = () => {
    const go = waiting;
    waiting = [];
    for (const resume of go) resume();
  };
  prototype.send = function send(this: SQSClient, command: unknown, ...rest: unknown[]) {
    if (command instanceof ReceiveMessageCommand) {
      return original.call(this, command, ...rest).then((output) => {
        const messages = (output as { Messages?: unknown[] }).Messages ?? [];
        if (!holding || messages.length === 0) return output;
        held++;
        return new Promise((resolve) => waiting.push(() => resolve(output)));
      });
    }
    if (!enabled && command instanceof SendMessageBatchCommand) {
      answered++;
      const output: SendMessageBatchCommandOutput = {
        Successful: (command.input.Entries ?? []).map((entry) => ({ Id: entry.Id!, MessageId: randomUUID(), MD5OfMessageBody: '' })),
        Failed: [],
        $metadata: { httpStatusCode: 200 },
      };
      return Promise.resolve(output);
    }
    return original.call(this, command, ...rest);
  };
  return {
    set(value) {
      enabled = value;
    },
    enabled: () => enabled,
    shortCircuited: () => answered,
    holdConsumers(value) {
      holding = value;
      if (!value) release();
    },
    heldBack: () => held,
    dispose() {
      holding = false;
      release();
      if (hadOwn) prototype.send = original;
      else delete (prototype as { send?: Send }).send;
    },
  };
}
