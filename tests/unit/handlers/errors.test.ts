/**
 * describeError: every way Postgres (Prisma 7 on @prisma/adapter-pg, pg, pg-pool) and DynamoDB
 * (AWS SDK v3) say they are down, overloaded or too slow answers 503 UNAVAILABLE, wherever it
 * sits in a cause chain; a caller's mistake or a bug stays what it was. And the 429's Retry-After.
 */
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  InternalServerError,
  ListTablesCommand,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { ConflictError, NotFoundError, RateLimitedError, UnavailableError } from '#core/errors';
import { Prisma } from '#adapters/postgres/generated/client';
import { createPrismaClient } from '#adapters/postgres/prisma-client';
import { describeError, isOutage, retryAfterSeconds } from '#handlers/shared/errors';

const known = (code: string, meta?: Record<string, unknown>, message = 'Invalid `prisma.$queryRaw()` invocation') =>
  new Prisma.PrismaClientKnownRequestError(message, { code, clientVersion: '7.0.0', meta });
const adapterError = (cause: Record<string, unknown>) => known('P2010', { driverAdapterError: { name: 'DriverAdapterError', cause } });
const sdk = <T>(Type: new (options: { message: string; $metadata: object }) => T) => new Type({ message: 'boom', $metadata: { httpStatusCode: 400 } });
const withCode = (message: string, code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { code, ...extra });

const OUTAGES: [string, unknown][] = [
  // Prisma's driver adapter errors (P2010 with meta.driverAdapterError.cause.kind).
  ['P2010 DatabaseNotReachable', adapterError({ kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 5432 })],
  ['P2010 ConnectionClosed', adapterError({ kind: 'ConnectionClosed' })],
  ['P2010 SocketTimeout', adapterError({ kind: 'SocketTimeout' })],
  ['P2010 TlsConnectionError', adapterError({ kind: 'TlsConnectionError', reason: 'self-signed certificate' })],
  ['P2010 TooManyConnections', adapterError({ kind: 'TooManyConnections', cause: 'sorry, too many clients already' })],
  ['P2010 TransactionWriteConflict', adapterError({ kind: 'TransactionWriteConflict' })],
  ['P2010 statement_timeout (57014)', adapterError({ kind: 'postgres', code: '57014', originalCode: '57014', severity: 'ERROR', message: 'canceling statement due to statement timeout' })],
  ['P2010 lock_timeout (55P03)', adapterError({ kind: 'postgres', code: '55P03', severity: 'ERROR', message: 'could not obtain lock' })],
  ['P2010 admin shutdown (57P01)', adapterError({ kind: 'postgres', code: '57P01', severity: 'FATAL', message: 'terminating connection due to administrator command' })],
  ['P2010 cannot connect now (57P03)', adapterError({ kind: 'postgres', code: '57P03', severity: 'FATAL', message: 'the database system is starting up' })],
  ['P2010 connection failure (08006)', adapterError({ kind: 'postgres', code: '08006', severity: 'FATAL', message: 'connection failure' })],
  ['P2010 with meta.code 57014', known('P2010', { code: '57014', message: 'canceling statement due to statement timeout' })],
  // Prisma's own connection codes.
  ...['P1001', 'P1002', 'P1008', 'P1011', 'P1017', 'P2024', 'P2028', 'P2034', 'P2037'].map((code): [string, unknown] => [code, known(code)]),
  ['PrismaClientInitializationError', new Prisma.PrismaClientInitializationError("Can't reach database server", '7.0.0')],
  // pg and pg-pool, rethrown by Prisma as they are.
  ['pg: Connection terminated unexpectedly', new Error('Connection terminated unexpectedly')],
  ['pg: connect timeout', new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated unexpectedly') })],
  ['pg-pool: pool timeout', new Error('timeout exceeded when trying to connect')],
  ['pg: query_timeout', new Error('Query read timeout')],
  ['pg: not queryable', new Error('Client has encountered a connection error and is not queryable')],
  ['pg DatabaseError 57014', withCode('canceling statement due to statement timeout', '57014', { severity: 'ERROR' })],
  ['pg DatabaseError 53300', withCode('sorry, too many clients already', '53300', { severity: 'FATAL' })],
  // Node sockets, as the SDK rethrows them.
  ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'EPIPE'].map((code): [string, unknown] => [code, withCode(`connect ${code}`, code, { syscall: 'connect', $metadata: { attempts: 3 } })]),
  ['AggregateError of ECONNREFUSED', new AggregateError([withCode('connect ECONNREFUSED ::1:8000', 'ECONNREFUSED'), withCode('connect ECONNREFUSED 127.0.0.1:8000', 'ECONNREFUSED')])],
  // AWS SDK v3.
  ['SDK TimeoutError (requestTimeout)', Object.assign(new Error('a request has exceeded the configured 1000 ms requestTimeout'), { name: 'TimeoutError', code: 'ETIMEDOUT', $metadata: { attempts: 2 } })],
  ['SDK socket hang up', Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET', $metadata: {} })],
  ['ProvisionedThroughputExceededException', sdk(ProvisionedThroughputExceededException)],
  ['ThrottlingException', sdk(ThrottlingException)],
  ['RequestLimitExceeded', sdk(RequestLimitExceeded)],
  ['InternalServerError', sdk(InternalServerError)],
  ['ServiceUnavailable by name', Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } })],
  ['an unknown SDK 502', Object.assign(new Error('UnknownError'), { name: 'UnknownError', $fault: 'server', $metadata: { httpStatusCode: 502 } })],
  ['an SDK 429', Object.assign(new Error('slow down'), { name: 'SlowDown', $metadata: { httpStatusCode: 429 } })],
  ['retryable throttling', Object.assign(new Error('x'), { name: 'Whatever', $retryable: { throttling: true }, $metadata: {} })],
  // Wrapped: a cause chain, several deep.
  ['wrapped twice', new Error('store failed', { cause: new Error('query failed', { cause: adapterError({ kind: 'DatabaseNotReachable' }) }) })],
  ['an UnavailableError in a cause', new Error('wrapped', { cause: new UnavailableError() })],
];

const NOT_OUTAGES: [string, unknown, number, string][] = [
  ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')"), 500, 'INTERNAL'],
  ['a unique violation', adapterError({ kind: 'UniqueConstraintViolation', constraint: { fields: ['id'] } }), 500, 'INTERNAL'],
  ['a syntax error', adapterError({ kind: 'postgres', code: '42601', severity: 'ERROR', message: 'syntax error' }), 500, 'INTERNAL'],
  ['P2025', known('P2025'), 500, 'INTERNAL'],
  ['ConditionalCheckFailedException', sdk(ConditionalCheckFailedException), 500, 'INTERNAL'],
  ['ResourceNotFoundException', sdk(ResourceNotFoundException), 500, 'INTERNAL'],
  ['a string', 'ECONNREFUSED', 500, 'INTERNAL'],
  ['null', null, 500, 'INTERNAL'],
  ['a ChatError wrapping an outage keeps its code', new ConflictError('not ACTIVE'), 409, 'CONFLICT'],
  ['NotFoundError', new NotFoundError(), 404, 'NOT_FOUND'],
  ['ZodError', new ZodError([]), 400, 'VALIDATION_ERROR'],
];

describe('describeError: outages and timeouts answer 503 UNAVAILABLE', () => {
  it.each(OUTAGES)('%s', (_name, error) => {
    const described = describeError(error);
    expect(described).toMatchObject({ status: 503, code: 'UNAVAILABLE', internal: true });
    // Internals stay in the logs.
    expect(described.message).toBe('The service is temporarily unavailable, try again');
  });

  it.each(NOT_OUTAGES)('%s stays %i %s', (_name, error, status, code) => {
    expect(describeError(error)).toMatchObject({ status, code });
  });

  it('a ChatError other than UNAVAILABLE is never an outage, whatever it wraps', () => {
    const conflict = Object.assign(new ConflictError('not ACTIVE'), { cause: withCode('x', 'ECONNREFUSED') });
    expect(describeError(conflict).code).toBe('CONFLICT');
  });

  it('survives a cause cycle', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    expect(isOutage(a)).toBe(false);
    expect(describeError(a).code).toBe('INTERNAL');
  });
});

describe('describeError on what the real clients throw', () => {
  async function deadPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  it('Prisma on a port nobody listens on: P2010 DatabaseNotReachable → 503', async () => {
    const prisma = createPrismaClient(`postgresql://u:p@127.0.0.1:${await deadPort()}/db`, { connectTimeoutMs: 1000 });
    const error = await prisma.$queryRaw`SELECT 1`.then(() => undefined, (e: unknown) => e);
    await prisma.$disconnect();
    expect(error).toMatchObject({ code: 'P2010', meta: { driverAdapterError: { cause: { kind: 'DatabaseNotReachable' } } } });
    expect(describeError(error).code).toBe('UNAVAILABLE');
  });

  it('Prisma on a server that accepts and never answers: the connect timeout → 503', async () => {
    const server = createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const prisma = createPrismaClient(`postgresql://u:p@127.0.0.1:${port}/db`, { connectTimeoutMs: 300 });
    const started = Date.now();
    const error = await prisma.$queryRaw`SELECT 1`.then(() => undefined, (e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3000);
    await prisma.$disconnect();
    server.close();
    expect(describeError(error).code).toBe('UNAVAILABLE');
  });

  it('DynamoDB on a port nobody listens on: ECONNREFUSED → 503', async () => {
    const client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${await deadPort()}`,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
    });
    const error = await client.send(new ListTablesCommand({})).then(() => undefined, (e: unknown) => e);
    client.destroy();
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(describeError(error).code).toBe('UNAVAILABLE');
  });
});

describe('retryAfterSeconds: the 429 Retry-After', () => {
  it.each([
    [{ retryAfterMs: 1 }, 1],
    [{ retryAfterMs: 999 }, 1],
    [{ retryAfterMs: 1000 }, 1],
    [{ retryAfterMs: 1001 }, 2],
    [{ retryAfterMs: 9_500 }, 10],
    [{ retryAfterMs: 0 }, 1],
    [{}, 1],
    [undefined, 1],
  ])('%j → %i', (details, seconds) => {
    expect(retryAfterSeconds(details)).toBe(seconds);
  });

  it('comes from a RateLimitedError', () => {
    const described = describeError(new RateLimitedError('slow down', { retryAfterMs: 4200, resetAt: 'x' }));
    expect(described.status).toBe(429);
    expect(retryAfterSeconds(described.details)).toBe(5);
  });
});
