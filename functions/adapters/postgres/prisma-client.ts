/**
 * Builds a PrismaClient on the node-postgres driver adapter (Prisma 7's Rust-free client).
 * Handlers create one per container at module scope; tests create one per test database.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '#adapters/postgres/generated/client';

export { PrismaClient };

export interface CreatePrismaClientOptions {
  /**
   * The most connections the client's pool opens. Keep it small in Lambda: one container
   * serves one request at a time, and RDS Proxy multiplexes the rest.
   */
  poolSize?: number;
  /**
   * Opening a connection, and waiting for a free one of the pool, give up after this long
   * (pg's connectionTimeoutMillis: "Connection terminated due to connection timeout", "timeout
   * exceeded when trying to connect"). Unset: wait forever.
   */
  connectTimeoutMs?: number;
  /**
   * The server cancels a statement running longer than this, lock waits included (SQLSTATE
   * 57014), and ends a session idle in a transaction as long; the client stops waiting for an
   * answer 1 s later ("Query read timeout"), for a network that stalls. Unset: no limit.
   */
  statementTimeoutMs?: number;
  /**
   * Called after each SQL statement with its text (parameters as placeholders, never their
   * values), when it started and how long it took: the tracer's Postgres subsegments. Unset,
   * Prisma emits no query events at all.
   */
  onQuery?: (query: SqlQuery) => void;
}

/** One statement as Prisma reports it. */
export interface SqlQuery {
  sql: string;
  startedAtMs: number;
  durationMs: number;
}

/** How much longer than the server's statement_timeout the client waits for an answer. */
export const QUERY_TIMEOUT_MARGIN_MS = 1000;

/** A PrismaClient for `connectionString`. It connects lazily, on its first query. */
export function createPrismaClient(connectionString: string, options: CreatePrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg({
    connectionString,
    ...(options.poolSize === undefined ? {} : { max: options.poolSize }),
    ...(options.connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: options.connectTimeoutMs }),
    ...(options.statementTimeoutMs === undefined
      ? {}
      : {
          statement_timeout: options.statementTimeoutMs,
          idle_in_transaction_session_timeout: options.statementTimeoutMs,
          query_timeout: options.statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
        }),
  });
  if (!options.onQuery) return new PrismaClient({ adapter });
  const onQuery = options.onQuery;
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  client.$on('query', (event) => onQuery({ sql: event.query, startedAtMs: event.timestamp.getTime(), durationMs: Number(event.duration) }));
  // The client's type without the log option: the stores take a plain PrismaClient.
  return client as unknown as PrismaClient;
}
