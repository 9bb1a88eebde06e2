/**
 * The X-Ray tracer against a real UDP socket standing in for the X-Ray daemon and a real AWS SDK
 * client calling a local HTTP server that answers as DynamoDB does: what reaches the daemon is
 * what X-Ray would show of an invocation (its `## handler` subsegment and one subsegment per AWS
 * call under it), and the call carries the trace header to the service.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { daemonAddress, parseTraceHeader, udpDaemonSink, XRayTracer, type SubsegmentDocument } from '#adapters/x-ray/tracer';

const ROOT = '1-5759e988-bd862e3fe1be46a994272793';
const PARENT = '53995c3f42cd8ad8';

let daemon: Socket;
let received: { header: string; document: SubsegmentDocument }[] = [];
let dynamo: Server;
let seenHeaders: IncomingHttpHeaders[] = [];
/** What the fake DynamoDB answers next: status, error type (for a 4xx/5xx), and the request id. */
let answer: { status: number; type?: string } = { status: 200 };

beforeAll(async () => {
  daemon = createSocket('udp4');
  daemon.on('message', (datagram) => {
    const text = datagram.toString('utf8');
    const newline = text.indexOf('\n');
    received.push({ header: text.slice(0, newline), document: JSON.parse(text.slice(newline + 1)) as SubsegmentDocument });
  });
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  dynamo = createServer((request, response) => {
    seenHeaders.push(request.headers);
    request.resume();
    request.on('end', () => {
      const body = answer.status === 200 ? '{"Item":{"connectionId":{"S":"c1"}}}' : JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${answer.type}`, message: 'refused' });
      response.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'REQ123', 'content-length': Buffer.byteLength(body) });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  daemon.close();
  await new Promise((resolve) => dynamo.close(resolve));
});

beforeEach(() => {
  received = [];
  seenHeaders = [];
  answer = { status: 200 };
});

function setUp(traceHeader: string | undefined) {
  const { port } = daemon.address();
  const tracer = new XRayTracer({ serviceName: 'chat-test', handlerName: 'index.handler', sink: udpDaemonSink({ host: '127.0.0.1', port }), traceHeader: () => traceHeader });
  const endpoint = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  const client = tracer.captureClient(createDocumentClient({ endpoint, region: 'eu-central-1', maxAttempts: 1 }));
  return { tracer, client };
}

async function documents(count: number): Promise<SubsegmentDocument[]> {
  for (let waited = 0; received.length < count && waited < 2_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(received.every((one) => one.header === '{"format":"json","version":1}')).toBe(true);
  return received.map((one) => one.document);
}

describe('the X-Ray tracer', () => {
  it('sends the invocation and each AWS call as subsegments under Lambda’s segment, and passes the trace on', async () => {
    const { tracer, client } = setUp(`Root=${ROOT};Parent=${PARENT};Sampled=1;Lineage=a87bd80c:0`);
    tracer.startInvocation();
    const { Item } = await client.send(new GetCommand({ TableName: 'chat-connections', Key: { connectionId: 'c1' } }));
    tracer.endInvocation();
    expect(Item).toEqual({ connectionId: 'c1' });

    const [call, invocation] = await documents(2);
    expect(invocation).toMatchObject({
      type: 'subsegment',
      name: '## index.handler',
      trace_id: ROOT,
      parent_id: PARENT,
      annotations: { ColdStart: true, Service: 'chat-test' },
    });
    expect(invocation!.id).toMatch(/^[0-9a-f]{16}$/);
    expect(call).toMatchObject({
      type: 'subsegment',
      name: 'DynamoDB',
      namespace: 'aws',
      trace_id: ROOT,
      parent_id: invocation!.id,
      aws: { operation: 'GetItem', region: 'eu-central-1', request_id: 'REQ123', table_name: 'chat-connections' },
      http: { response: { status: 200 } },
    });
    expect(call).not.toHaveProperty('error');
    expect(call!.start_time).toBeGreaterThanOrEqual(invocation!.start_time);
    expect(call!.end_time).toBeLessThanOrEqual(invocation!.end_time);
    expect(seenHeaders[0]!['x-amzn-trace-id']).toBe(`Root=${ROOT};Parent=${call!.id};Sampled=1;Lineage=a87bd80c:0`);
  });

  it('marks a refused call an error, a throttled one also throttled, a failing service a fault, and the failed invocation a fault', async () => {
    const { tracer, client } = setUp(`Root=${ROOT};Parent=${PARENT};Sampled=1`);
    tracer.startInvocation();
    tracer.endInvocation();
    tracer.startInvocation();
    const get = () => client.send(new GetCommand({ TableName: 'chat-connections', Key: { connectionId: 'c1' } }));
    answer = { status: 400, type: 'ConditionalCheckFailedException' };
    await expect(get()).rejects.toThrow();
    answer = { status: 400, type: 'ProvisionedThroughputExceededException' };
    await expect(get()).rejects.toThrow();
    answer = { status: 500, type: 'InternalServerError' };
    await expect(get()).rejects.toThrow();
    tracer.endInvocation(new TypeError('the handler broke'));

    const [, refused, throttled, failing, invocation] = await documents(5);
    expect(refused).toMatchObject({ error: true, http: { response: { status: 400 } }, cause: { exceptions: [{ type: 'ConditionalCheckFailedException', remote: true }] } });
    expect(refused).not.toHaveProperty('fault');
    expect(throttled).toMatchObject({ error: true, throttle: true });
    expect(failing).toMatchObject({ fault: true, http: { response: { status: 500 } } });
    expect(failing).not.toHaveProperty('error');
    expect(invocation).toMatchObject({ name: '## index.handler', fault: true, annotations: { ColdStart: false }, cause: { exceptions: [{ type: 'TypeError', message: 'the handler broke' }] } });
  });

  it('records each SQL statement as a remote subsegment named database@host, without credentials or values', async () => {
    const { tracer } = setUp(`Root=${ROOT};Parent=${PARENT};Sampled=1`);
    const database = { url: 'postgresql://chat:s3cret@proxy.example.internal:5432/chat?sslmode=require' };
    tracer.recordSql({ sql: 'SELECT 1', startedAtMs: 1_000, durationMs: 5 }, database);
    tracer.startInvocation();
    tracer.recordSql({ sql: `SELECT $1 ${'x'.repeat(2000)}`, startedAtMs: 1_700_000_000_000, durationMs: 2.5 }, database);
    tracer.endInvocation();
    const [statement, invocation] = await documents(2);
    expect(statement).toMatchObject({
      type: 'subsegment',
      name: 'chat@proxy.example.internal',
      namespace: 'remote',
      trace_id: ROOT,
      parent_id: invocation!.id,
      start_time: 1_700_000_000,
      end_time: 1_700_000_000.0025,
      sql: { url: 'postgresql://proxy.example.internal:5432/chat', database_type: 'PostgreSQL' },
    });
    expect(statement!.sql!.sanitized_query).toHaveLength(1000);
    expect(JSON.stringify(statement)).not.toContain('s3cret');
  });

  it('records nothing for an invocation Lambda did not sample, or outside any invocation, and the calls still work', async () => {
    const { tracer, client } = setUp(`Root=${ROOT};Parent=${PARENT};Sampled=0`);
    await client.send(new GetCommand({ TableName: 'chat-connections', Key: { connectionId: 'c1' } }));
    tracer.startInvocation();
    await client.send(new GetCommand({ TableName: 'chat-connections', Key: { connectionId: 'c1' } }));
    tracer.endInvocation();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toEqual([]);
    expect(seenHeaders.map((headers) => headers['x-amzn-trace-id'])).toEqual([undefined, undefined]);
  });
});

describe('where the tracer finds the invocation’s trace header', () => {
  it('reads Lambda’s invoke store first, and _X_AMZN_TRACE_ID where there is none', async () => {
    const { port } = daemon.address();
    const sink = udpDaemonSink({ host: '127.0.0.1', port });
    const previous = process.env._X_AMZN_TRACE_ID;
    const global = globalThis as { awslambda?: unknown };
    try {
      process.env._X_AMZN_TRACE_ID = `Root=${ROOT};Parent=1111111111111111;Sampled=1`;
      global.awslambda = { InvokeStore: { getXRayTraceId: () => `Root=${ROOT};Parent=2222222222222222;Sampled=1` } };
      const fromStore = new XRayTracer({ serviceName: 'chat-test', handlerName: 'index.handler', sink });
      fromStore.startInvocation();
      fromStore.endInvocation();
      delete global.awslambda;
      const fromEnvironment = new XRayTracer({ serviceName: 'chat-test', handlerName: 'index.handler', sink });
      fromEnvironment.startInvocation();
      fromEnvironment.endInvocation();
      expect((await documents(2)).map((document) => document.parent_id)).toEqual(['2222222222222222', '1111111111111111']);
    } finally {
      delete global.awslambda;
      if (previous === undefined) delete process.env._X_AMZN_TRACE_ID;
      else process.env._X_AMZN_TRACE_ID = previous;
    }
  });
});

describe('trace headers and the daemon address', () => {
  it('reads Lambda’s trace header and refuses a malformed one', () => {
    expect(parseTraceHeader(`Root=${ROOT};Parent=${PARENT};Sampled=1`)).toEqual({ root: ROOT, parent: PARENT, sampled: true, extra: [] });
    expect(parseTraceHeader(`Root=${ROOT}`)).toEqual({ root: ROOT, parent: undefined, sampled: false, extra: [] });
    expect(parseTraceHeader('Root=1-xyz;Parent=53995c3f42cd8ad8;Sampled=1')).toBeUndefined();
    expect(parseTraceHeader(`Root=${ROOT};Parent=short;Sampled=1`)).toBeUndefined();
    expect(parseTraceHeader(undefined)).toBeUndefined();
  });

  it('reads the daemon address in both of the forms Lambda and the SDK use', () => {
    expect(daemonAddress('169.254.79.129:2000')).toEqual({ host: '169.254.79.129', port: 2000 });
    expect(daemonAddress('tcp:127.0.0.1:2001 udp:127.0.0.2:2002')).toEqual({ host: '127.0.0.2', port: 2002 });
    expect(() => daemonAddress('nowhere')).toThrow(/AWS_XRAY_DAEMON_ADDRESS/);
  });
});
