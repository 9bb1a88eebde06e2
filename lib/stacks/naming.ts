/**
 * Physical names, derived from the stage so several stages share an account without clashing.
 */
import { deadLetterName, type QueueKey } from '#config/queues';
import type { TableKey } from '#config/tables';

/** Powertools' service name, the `service` dimension of every custom metric. */
export const SERVICE_NAME = 'provider-customer-chat';

/** The database Prisma connects to (settings' DATABASE_NAME default). */
export const DATABASE_NAME = 'chat';

/** The Postgres role the stack creates; its generated password lives in Secrets Manager. */
export const DATABASE_USER = 'chat_app';

export function resourcePrefix(stage: string): string {
  return `${SERVICE_NAME}-${stage}`;
}

export function stackNames(stage: string): { stateful: string; stateless: string } {
  return { stateful: `ProviderCustomerChat-${stage}-Stateful`, stateless: `ProviderCustomerChat-${stage}-Stateless` };
}

/**
 * A table's physical name. Fixed names (rather than generated ones) let the stateless stack
 * address the tables without cross-stack exports and keep IAM policies readable.
 */
export function tableName(stage: string, key: TableKey): string {
  return `${resourcePrefix(stage)}-${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

/**
 * A queue's physical name, and its dead-letter queue's (`…-events`, `…-events-dlq`). Fixed for
 * the same reasons as the tables' names, and so the dead-letter queue's redrive allow policy can
 * name its source queue without the two queues referring to each other.
 */
export function queueName(stage: string, key: QueueKey): string {
  return `${resourcePrefix(stage)}-${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

export function deadLetterQueueName(stage: string, key: QueueKey): string {
  return deadLetterName(queueName(stage, key));
}

/** PascalCase of a camelCase or kebab/slash-separated name: `ws/join-conversation` → `WsJoinConversation`. */
export function pascalCase(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/**
 * The attachments bucket's name, `provider-customer-chat-<stage>-attachments-<account>` (bucket
 * names are global, hence the account). Fixed like the tables' and queues' names: the stateless
 * stack's IAM policies name its prefixes without cross-stack exports. `account` is a token in an
 * environment-agnostic synthesis; a 12-digit account id keeps the name within S3's 63
 * characters for stages of up to 15 characters.
 */
export function attachmentsBucketName(stage: string, account: string): string {
  return `${resourcePrefix(stage)}-attachments-${account}`;
}

/** The bucket that receives the attachments bucket's server access logs. */
export function accessLogsBucketName(stage: string, account: string): string {
  return `${resourcePrefix(stage)}-s3-logs-${account}`;
}

/** S3's limit on a bucket name's length. */
export const BUCKET_NAME_MAX_LENGTH = 63;
