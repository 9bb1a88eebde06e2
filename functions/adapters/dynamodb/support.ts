/**
 * Small helpers shared by the DynamoDB stores.
 */
import { paginateQuery, paginateScan, type QueryCommandInput, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '#core/ports';

/** Epoch SECONDS for DynamoDB's TTL, rounded up so an item never goes before its time. */
export function ttlSeconds(epochMs: number): number {
  return Math.ceil(epochMs / 1000);
}

/** Epoch ms from a clock. */
export function nowMs(clock: Clock): number {
  return clock.now().getTime();
}

/** True for the error a failed ConditionExpression raises (and nothing else: throttling is not a refusal). */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

type Item = Record<string, unknown>;

/** Every item of a query, across pages. `T` is the caller's view of the stored item. */
export async function queryAll<T = Item>(doc: DynamoDBDocumentClient, input: QueryCommandInput): Promise<T[]> {
  const items: T[] = [];
  for await (const page of paginateQuery({ client: doc }, input)) {
    items.push(...((page.Items ?? []) as T[]));
  }
  return items;
}

/** Every item of a scan, across pages. */
export async function scanAll<T = Item>(doc: DynamoDBDocumentClient, input: ScanCommandInput): Promise<T[]> {
  const items: T[] = [];
  for await (const page of paginateScan({ client: doc }, input)) {
    items.push(...((page.Items ?? []) as T[]));
  }
  return items;
}
