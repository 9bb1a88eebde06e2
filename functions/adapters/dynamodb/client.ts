/**
 * DynamoDB clients, created once per container. In AWS the region and credentials come from the
 * Lambda environment; locally `endpoint` points at the emulator, which accepts any credentials.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DynamoClientOptions {
  /** Only for a local emulator (DYNAMODB_ENDPOINT); unset in AWS. */
  endpoint?: string;
  region: string;
  /**
   * Bounds on every call, so an endpoint that refuses, resets or stalls fails fast (503) instead
   * of holding the invocation: opening a connection, one request, and attempts per call (the
   * first included). Unset: the SDK's defaults (no timeouts, 3 attempts).
   */
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxAttempts?: number;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The low-level client (table management: ensureTables, DescribeTimeToLive). */
export function createDynamoClient({ endpoint, region, connectTimeoutMs, requestTimeoutMs, maxAttempts }: DynamoClientOptions): DynamoDBClient {
  const bounded = connectTimeoutMs !== undefined || requestTimeoutMs !== undefined;
  return new DynamoDBClient({
    region,
    ...(endpoint ? { endpoint, credentials: LOCAL_CREDENTIALS } : {}),
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
    // throwOnRequestTimeout: a request past requestTimeout fails (TimeoutError) instead of only being logged.
    ...(bounded ? { requestHandler: { connectionTimeout: connectTimeoutMs, requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true } } : {}),
  });
}

/**
 * The document client the stores use: plain JS values in and out. Optional fields left
 * undefined are dropped rather than rejected.
 */
export function createDocumentClient(options: DynamoClientOptions): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(createDynamoClient(options), {
    marshallOptions: { removeUndefinedValues: true },
  });
}
