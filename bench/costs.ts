/**
 * What a million WebSocket sends cost in AWS, computed from the calls the "calls per operation"
 * phase counted (round-trips) and AWS list prices. The prices are stated here, as data, with the
 * region and the date they were read; the run prints them beside the result.
 *
 * What is NOT per send, and so not in the figure: RDS Proxy and the database instance (billed
 * per vCPU-hour of the instance, whatever the requests), API Gateway connection minutes (billed
 * per connected minute, whatever is sent: printed separately), CloudWatch and X-Ray.
 */
import type { RoundTripFigures } from './phases.ts';
import { round, table } from './stats.ts';

/** us-east-1 list prices, on-demand, as published on the AWS pricing pages (read 2026-12-03). */
export const PRICES = {
  region: 'us-east-1',
  /** DynamoDB on-demand: per million write request units / read request units. */
  dynamoWritePerMillion: 0.625,
  dynamoReadPerMillion: 0.125,
  /** Lambda arm64: per GB-second and per million requests. */
  lambdaPerGbSecond: 0.0000133334,
  lambdaRequestsPerMillion: 0.2,
  /** API Gateway WebSocket: per million messages (first billion; metered in 32 KB units) and per million connection minutes. */
  websocketMessagesPerMillion: 1.0,
  websocketConnectionMinutesPerMillion: 0.25,
  /** SQS standard queue: per million requests (64 KB units). */
  sqsRequestsPerMillion: 0.4,
} as const;

/**
 * Assumptions the counts cannot give: the Lambda's memory and billed duration per invocation
 * (the local runtime measures neither the way Lambda bills), the queue consumers' batch, and the
 * read/write units each DynamoDB operation takes for items under 1 KB.
 */
export const ASSUMPTIONS = {
  lambdaMemoryGb: 1,
  /** Billed duration of one sendMessage invocation (ms): its calls, mostly waiting. */
  sendInvocationMs: 40,
  /** Billed duration of one queue-consumer invocation (ms) and the events it takes per invocation. */
  consumerInvocationMs: 20,
  consumerBatch: 10,
  /**
   * Units per call, by operation and target as the counters name them, for items under 1 KB:
   * a consistent GetItem or base-table Query 1 RRU; an (eventually consistent) index Query
   * 0.5 RRU; the PartiQL statement on the byParty index is two index queries (both parties),
   * 1 RRU; an UpdateItem, PutItem or DeleteItem 1 WRU.
   */
  units: 'GetItem 1 RRU, Query 1 RRU (base table) or 0.5 RRU (index), ExecuteStatement 1 RRU (two index queries), UpdateItem/PutItem/DeleteItem 1 WRU',
} as const;

function unitsOf(target: string): { read: number; write: number } {
  const [operation = ''] = target.split(' ');
  if (operation === 'GetItem') return { read: 1, write: 0 };
  if (operation === 'Query') return { read: target.includes('/') ? 0.5 : 1, write: 0 };
  if (operation === 'ExecuteStatement') return { read: 1, write: 0 };
  if (['UpdateItem', 'PutItem', 'DeleteItem'].includes(operation)) return { read: 0, write: 1 };
  return { read: 0, write: 0 };
}

export interface CostRow {
  label: string;
  perMillion: { dynamodb: number; lambda: number; websocket: number; sqs: number; total: number };
  /** What the figure was computed from, per send. */
  basis: { dynamodbCalls: number; readUnits: number; writeUnits: number; websocketMessages: number; sqsRequests: number; consumerEvents: number };
}

export interface CostFigures {
  prices: typeof PRICES;
  assumptions: typeof ASSUMPTIONS;
  rows: CostRow[];
  /** Connection minutes are billed apart from sends: 1 000 devices connected for a day. */
  thousandDevicesPerDay: number;
}

/** Cost per million sends for each WebSocket case the round-trips phase counted. */
export function costPerMillionSends(roundTrips: readonly RoundTripFigures[]): CostFigures {
  const rows = roundTrips
    .filter((figures) => figures.label.includes('WebSocket'))
    .map((figures): CostRow => {
      const per = figures.perSend;
      const targets = Object.entries(per.dynamodbTargets);
      const readUnits = targets.reduce((sum, [target, count]) => sum + count * unitsOf(target).read, 0);
      const writeUnits = targets.reduce((sum, [target, count]) => sum + count * unitsOf(target).write, 0);
      // In: the client's frame. Out: every post (acks and copies).
      const websocketMessages = 1 + (per.connectionsRequests.POST ?? 0);
      // Every SQS request counted: the handler's sends and the event source's receives/deletes.
      const sqsRequests = Object.values(per.sqs).reduce((sum, count) => sum + count, 0);
      const consumerEvents = per.sqsSends;
      const gbSeconds = (ASSUMPTIONS.sendInvocationMs / 1000) * ASSUMPTIONS.lambdaMemoryGb + (consumerEvents / ASSUMPTIONS.consumerBatch) * (ASSUMPTIONS.consumerInvocationMs / 1000) * ASSUMPTIONS.lambdaMemoryGb;
      const invocations = 1 + consumerEvents / ASSUMPTIONS.consumerBatch;
      const million = 1_000_000;
      const dynamodb = readUnits * PRICES.dynamoReadPerMillion + writeUnits * PRICES.dynamoWritePerMillion;
      const lambda = gbSeconds * million * PRICES.lambdaPerGbSecond + invocations * PRICES.lambdaRequestsPerMillion;
      const websocket = websocketMessages * PRICES.websocketMessagesPerMillion;
      const sqs = sqsRequests * PRICES.sqsRequestsPerMillion;
      return {
        label: figures.label,
        perMillion: { dynamodb: round(dynamodb, 3), lambda: round(lambda, 3), websocket: round(websocket, 3), sqs: round(sqs, 3), total: round(dynamodb + lambda + websocket + sqs, 2) },
        basis: { dynamodbCalls: per.dynamodbTotal, readUnits: round(readUnits, 2), writeUnits: round(writeUnits, 2), websocketMessages: round(websocketMessages, 2), sqsRequests: round(sqsRequests, 2), consumerEvents },
      };
    });
  return { prices: PRICES, assumptions: ASSUMPTIONS, rows, thousandDevicesPerDay: round((1000 * 24 * 60 * PRICES.websocketConnectionMinutesPerMillion) / 1_000_000, 3) };
}

export function formatCosts(costs: CostFigures): string {
  const p = costs.prices;
  const a = costs.assumptions;
  return [
    `\nCost per million WebSocket sends (USD, ${p.region} list prices: DynamoDB on-demand $${p.dynamoWritePerMillion}/M WRU, $${p.dynamoReadPerMillion}/M RRU; Lambda arm64 $${p.lambdaPerGbSecond}/GB-s + $${p.lambdaRequestsPerMillion}/M requests; API Gateway WebSocket $${p.websocketMessagesPerMillion}/M messages; SQS $${p.sqsRequestsPerMillion}/M requests; RDS Proxy per vCPU-hour, not per request)`,
    `Assumed: ${a.lambdaMemoryGb} GB functions, ${a.sendInvocationMs} ms billed per send, ${a.consumerInvocationMs} ms per consumer invocation of ${a.consumerBatch} events; units per call: ${a.units}`,
    table(
      ['case', 'DynamoDB calls', 'RRU', 'WRU', 'WS messages', 'SQS requests', 'DynamoDB $', 'Lambda $', 'WebSocket $', 'SQS $', 'total $'],
      costs.rows.map((row) => [
        row.label,
        String(row.basis.dynamodbCalls),
        String(row.basis.readUnits),
        String(row.basis.writeUnits),
        String(row.basis.websocketMessages),
        String(row.basis.sqsRequests),
        row.perMillion.dynamodb.toFixed(2),
        row.perMillion.lambda.toFixed(2),
        row.perMillion.websocket.toFixed(2),
        row.perMillion.sqs.toFixed(2),
        row.perMillion.total.toFixed(2),
      ]),
    ),
    `Connection minutes, apart from sends: 1 000 devices connected all day cost $${costs.thousandDevicesPerDay} a day.`,
  ].join('\n');
}
