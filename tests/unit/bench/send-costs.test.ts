import { describe, expect, it } from 'vitest';
import { costPerMillionSends, PRICES } from '../../../bench/costs.ts';
import { attribute } from '../../../bench/cpu-split.ts';
import type { PerOperation, RoundTripFigures } from '../../../bench/phases.ts';

function send(dynamodbTargets: Record<string, number>, posts: number): RoundTripFigures {
  const dynamodb: Record<string, number> = {};
  for (const [target, count] of Object.entries(dynamodbTargets)) {
    const operation = target.split(' ')[0]!;
    dynamodb[operation] = (dynamodb[operation] ?? 0) + count;
  }
  const perSend = {
    operations: 10,
    dynamodb,
    dynamodbTargets,
    dynamodbTotal: Object.values(dynamodbTargets).reduce((a, b) => a + b, 0),
    connectionsRequests: { POST: posts },
    sqs: { SendMessageBatch: 3 },
    sqsSends: 3,
  } as unknown as PerOperation;
  return { label: 'send over WebSocket (1 connection per side)', connections: { customer: 1, provider: 1 }, perSend };
}

describe('cost per million sends', () => {
  it('prices each frame, read and write unit and SQS request at the stated list prices', () => {
    const before = send({ 'GetItem chat-connections': 1, 'UpdateItem chat-rate-limits': 1, 'Query chat-connections/byParty': 2, 'Query chat-subscriptions': 1 }, 3);
    const after = send({ 'GetItem chat-connections': 1, ExecuteStatement: 1, 'Query chat-subscriptions': 1 }, 3);
    const [was, is] = costPerMillionSends([before, after]).rows;
    expect(was!.basis).toMatchObject({ readUnits: 3, writeUnits: 1, websocketMessages: 4, sqsRequests: 3 });
    expect(is!.basis).toMatchObject({ readUnits: 3, writeUnits: 0 });
    expect(is!.perMillion.websocket).toBe(4 * PRICES.websocketMessagesPerMillion);
    expect(was!.perMillion.dynamodb - is!.perMillion.dynamodb).toBeCloseTo(PRICES.dynamoWritePerMillion, 6);
  });
});

describe('CPU attribution by module', () => {
  it("puts Node's own frames down to the code that called them, and keeps idle time out", () => {
    const node = (id: number, url: string, functionName: string, children: number[] = []) => ({ id, callFrame: { url, functionName }, children });
    const profile = {
      nodes: [
        node(1, '', '(root)', [2, 5, 7, 8]),
        node(2, 'file:///app/node_modules/@smithy/node-http-handler/dist/index.js', 'handle', [3]),
        node(3, 'node:_http_client', 'request', [4]),
        node(4, '', 'writeUtf8String'),
        node(5, 'file:///app/functions/core/use-cases/send-message.ts', 'sendMessage', [6]),
        node(6, '', 'JSON.stringify'),
        node(7, '', '(idle)'),
        node(8, '', '(garbage collector)'),
      ],
      // Each sample's time is the gap to the next sample.
      samples: [4, 6, 7, 8, 4],
      timeDeltas: [0, 100, 200, 300, 400],
    };
    const totals = attribute(profile);
    expect(totals['AWS SDK (@aws-sdk, @smithy)']).toBe(100);
    expect(totals['handler code (functions/)']).toBe(200);
    expect(totals['garbage collector']).toBe(400);
    expect(Object.values(totals).reduce((a, b) => a + b, 0)).toBe(700);
  });
});
