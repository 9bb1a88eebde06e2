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
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The low-level client (table management: ensureTables, DescribeTimeToLive). */
export function createDynamoClient({ endpoint, region }: DynamoClientOptions): DynamoDBClient {
  return new DynamoDBClient({
    region,
    ...(endpoint ? { endpoint, credentials: LOCAL_CREDENTIALS } : {}),
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
