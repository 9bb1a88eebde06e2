/**
 * Counts what the handlers send to Postgres, DynamoDB, the `@connections` API and SQS. The local
 * runtime runs the handlers in this process, so the counting happens at the client side of each
 * call, inside this process, without touching product code:
 *
 * - Postgres: node-postgres's `Connection#query` (a simple-protocol Query message) and
 *   `Connection#sync` (the Sync that ends an extended-protocol Parse/Bind/Execute request) are
 *   wrapped. Each of those messages is one point where the driver hands the server a complete
 *   request and waits for its answer: one network round trip. `Client#query` is wrapped too, to
 *   say which statements they were. Prisma's driver adapter (`@prisma/adapter-pg`) sends every
 *   statement through these. Each round trip is also put down to the statement its client was
 *   running (`Client#query` names it, on that client's connection), so that the events queue
 *   consumer's confirmations can be told apart from the request's own statements.
 * - DynamoDB and `@connections`: Node's `http.client.request.start` diagnostics channel sees
 *   every HTTP request the AWS SDK clients start (the SDK's Node handler is built on `http`).
 *   Requests to the DynamoDB endpoint are counted by their `X-Amz-Target` (the operation);
 *   requests to the WebSocket endpoint's `/@connections/` by method. SDK retries would show up
 *   as extra requests. `ClientRequest#end` is wrapped too, to read the table a DynamoDB request
 *   names from its JSON body.
 * - SQS: requests to the local SQS endpoint (`SQS_ENDPOINT`) the same way, by their
 *   `X-Amz-Target` (`AmazonSQS.SendMessageBatch` …): the handlers' publishing and the local
 *   event source's polling (ReceiveMessage, DeleteMessageBatch) alike, told apart by operation.
 *
 * Beside the counts, the time spent waiting on each kind of call is summed (Postgres: a
 * `Client#query` call to its callback or promise; HTTP: a request's start to its response's
 * headers). Calls that overlap are each counted in full, so these are costs, not wall time.
 */
import diagnostics from 'node:diagnostics_channel';
import { ClientRequest } from 'node:http';
import pg from 'pg';

export interface CounterSnapshot {
  /** Query + Sync protocol messages sent to Postgres: round trips. */
  postgresRoundTrips: number;
  /** The same round trips by the statement their client was running. */
  postgresRoundTripsByStatement: Record<string, number>;
  /** Statements by their opening words. */
  postgresStatements: Record<string, number>;
  /** DynamoDB requests by operation (GetItem, Query, …). */
  dynamodb: Record<string, number>;
  /** DynamoDB requests by operation and table (and index): `Query chat-connections/byParty`. */
  dynamodbTargets: Record<string, number>;
  dynamodbTotal: number;
  /** Requests to `@connections` by method (POST = PostToConnection, DELETE, GET). */
  connections: Record<string, number>;
  /** SQS requests by operation (SendMessageBatch, ReceiveMessage, DeleteMessageBatch, …). */
  sqs: Record<string, number>;
  sqsTotal: number;
  /** Summed waiting time per kind of call (ms); SQS by operation. */
  waitingMs: { postgres: number; dynamodb: number; connections: number; sqs: Record<string, number> };
}

/** A statement as a client handed it to Postgres: its text and parameter values. */
export interface CapturedStatement {
  text: string;
  values: unknown[];
}

export interface Counters {
  reset(): void;
  snapshot(): CounterSnapshot;
  /** Keeps (true) or stops keeping (false) every statement's text and values, from now; see captured(). */
  capture(on: boolean): void;
  /** The statements kept since capture(true), in the order they were handed over. */
  captured(): CapturedStatement[];
  dispose(): void;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Replaces `object[name]` with a counting wrapper; returns the undo. */
function wrap(object: object, name: string, before: (self: unknown, args: unknown[]) => void): () => void {
  const target = object as Record<string, Method>;
  const original = target[name];
  if (typeof original !== 'function') throw new Error(`Cannot count calls of ${name}: not a method`);
  target[name] = function counted(this: unknown, ...args: unknown[]) {
    before(this, args);
    return original.apply(this, args);
  };
  return () => {
    target[name] = original;
  };
}

/** The opening words of a statement, enough to tell statements apart in a report. */
export function statementLabel(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 72 ? `${flat.slice(0, 72)}…` : flat;
}

export function installCounters(targets: { dynamoEndpoint: string; callbackUrl: string; sqsEndpoint?: string }): Counters {
  const dynamoHost = new URL(targets.dynamoEndpoint).host;
  const callbackHost = new URL(targets.callbackUrl).host;
  const sqsHost = targets.sqsEndpoint ? new URL(targets.sqsEndpoint).host : undefined;
  let snapshot = emptySnapshot();
  let capturing: CapturedStatement[] | undefined;

  // The statement each connection's client last handed over: pg.Pool lends a client to one
  // caller at a time, and Prisma's adapter runs one statement at a time on it.
  const running = new WeakMap<object, string>();
  const roundTrip = (connection: unknown) => {
    snapshot.postgresRoundTrips++;
    const label: string = (connection ? running.get(connection as object) : undefined) ?? '(no statement named)';
    snapshot.postgresRoundTripsByStatement[label] = (snapshot.postgresRoundTripsByStatement[label] ?? 0) + 1;
  };
  const { Connection, Client } = pg as unknown as { Connection: { prototype: object }; Client: { prototype: object } };
  const undo = [wrap(Connection.prototype, 'query', roundTrip), wrap(Connection.prototype, 'sync', roundTrip)];
  undo.push(timeQueries(Client.prototype, (client, text, args) => {
    const connection = (client as { connection?: object }).connection;
    if (connection) running.set(connection, statementLabel(text));
    if (capturing) {
      const [first, second] = args;
      const values = Array.isArray(second) ? second : ((first as { values?: unknown[] } | undefined)?.values ?? []);
      capturing.push({ text, values: [...values] });
    }
  }, (text, elapsed) => {
    const label = statementLabel(text);
    snapshot.postgresStatements[label] = (snapshot.postgresStatements[label] ?? 0) + 1;
    snapshot.waitingMs.postgres += elapsed;
  }));

  const started = new WeakMap<ClientRequest, { at: number; kind: 'dynamodb' | 'connections' | 'sqs'; operation: string }>();
  const onRequest = (message: unknown) => {
    const request = (message as { request: ClientRequest }).request;
    const host = String(request.getHeader('host') ?? '');
    if (host === dynamoHost) {
      const operation = operationOf(request);
      started.set(request, { at: performance.now(), kind: 'dynamodb', operation });
      snapshot.dynamodb[operation] = (snapshot.dynamodb[operation] ?? 0) + 1;
      snapshot.dynamodbTotal++;
    } else if (host === callbackHost && request.path.includes('/@connections/')) {
      started.set(request, { at: performance.now(), kind: 'connections', operation: request.method });
      snapshot.connections[request.method] = (snapshot.connections[request.method] ?? 0) + 1;
    } else if (sqsHost !== undefined && host === sqsHost) {
      const operation = operationOf(request);
      started.set(request, { at: performance.now(), kind: 'sqs', operation });
      snapshot.sqs[operation] = (snapshot.sqs[operation] ?? 0) + 1;
      snapshot.sqsTotal++;
    }
  };
  const onResponse = (message: unknown) => {
    const request = (message as { request: ClientRequest }).request;
    const start = started.get(request);
    if (!start) return;
    started.delete(request);
    const elapsed = performance.now() - start.at;
    if (start.kind === 'sqs') snapshot.waitingMs.sqs[start.operation] = (snapshot.waitingMs.sqs[start.operation] ?? 0) + elapsed;
    else snapshot.waitingMs[start.kind] += elapsed;
  };
  // Which table: the SDK hands the JSON body to ClientRequest#end (before the channel above reports the request).
  const originalEnd = ClientRequest.prototype.end;
  ClientRequest.prototype.end = function end(this: ClientRequest, ...args: unknown[]) {
    if (String(this.getHeader('host') ?? '') === dynamoHost) {
      const target = String(this.getHeader('x-amz-target') ?? 'unknown');
      let label = target.slice(target.indexOf('.') + 1);
      try {
        const body = args[0];
        const text = typeof body === 'string' ? body : body instanceof Uint8Array ? Buffer.from(body).toString('utf8') : '';
        const { TableName, IndexName } = JSON.parse(text) as { TableName?: string; IndexName?: string };
        if (TableName) label = `${label} ${TableName}${IndexName ? `/${IndexName}` : ''}`;
      } catch {
        // Not JSON: the operation alone.
      }
      snapshot.dynamodbTargets[label] = (snapshot.dynamodbTargets[label] ?? 0) + 1;
    }
    return (originalEnd as (...a: unknown[]) => ClientRequest).apply(this, args);
  } as typeof originalEnd;
  undo.push(() => {
    ClientRequest.prototype.end = originalEnd;
  });
  diagnostics.subscribe('http.client.request.start', onRequest);
  diagnostics.subscribe('http.client.response.finish', onResponse);

  return {
    reset() {
      snapshot = emptySnapshot();
    },
    snapshot() {
      return structuredClone(snapshot);
    },
    capture(on) {
      capturing = on ? [] : undefined;
    },
    captured() {
      return [...(capturing ?? [])];
    },
    dispose() {
      diagnostics.unsubscribe('http.client.request.start', onRequest);
      diagnostics.unsubscribe('http.client.response.finish', onResponse);
      for (const restore of undo) restore();
    },
  };
}

/** The operation an AWS JSON-protocol request names: `DynamoDB_20120810.Query` → `Query`. */
function operationOf(request: ClientRequest): string {
  const target = String(request.getHeader('x-amz-target') ?? 'unknown');
  return target.slice(target.indexOf('.') + 1);
}

/**
 * Wraps `Client#query` to report each statement's text as it is handed over and the time until
 * its answer, whether the caller passed a callback (as pg.Pool does) or took the promise.
 */
function timeQueries(prototype: object, start: (client: unknown, text: string, args: unknown[]) => void, report: (text: string, elapsedMs: number) => void): () => void {
  const target = prototype as Record<string, Method>;
  const original = target.query as Method;
  target.query = function timed(this: unknown, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : (first as { text?: unknown } | undefined)?.text;
    if (typeof text !== 'string') return original.apply(this, args);
    start(this, text, args);
    const began = performance.now();
    const done = () => report(text, performance.now() - began);
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = function answered(this: unknown, ...results: unknown[]) {
        done();
        return (callback as Method).apply(this, results);
      };
      return original.apply(this, args);
    }
    const returned = original.apply(this, args);
    if (returned && typeof (returned as Promise<unknown>).then === 'function') (returned as Promise<unknown>).then(done, done);
    else done();
    return returned;
  };
  return () => {
    target.query = original;
  };
}

/** A snapshot with nothing counted. */
export function emptySnapshot(): CounterSnapshot {
  return {
    postgresRoundTrips: 0,
    postgresRoundTripsByStatement: {},
    postgresStatements: {},
    dynamodb: {},
    dynamodbTargets: {},
    dynamodbTotal: 0,
    connections: {},
    sqs: {},
    sqsTotal: 0,
    waitingMs: { postgres: 0, dynamodb: 0, connections: 0, sqs: {} },
  };
}
