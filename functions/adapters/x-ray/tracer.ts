/**
 * X-Ray traces for a Lambda function, written as the X-Ray SDK writes them there: the function's
 * segment is Lambda's own (active tracing), and this adds, under it, one subsegment per
 * invocation (`## <handler>`, with the ColdStart and Service annotations and the error that
 * failed it) and one per AWS SDK call (`DynamoDB`, `SQS`, … in the `aws` namespace, with the
 * operation, table or queue, request id, retries, HTTP status and the error, fault and throttle
 * flags) and per SQL statement (`recordSql`, fed by Prisma's query events), each sent as its own document to the X-Ray daemon over UDP when it ends, as the SDK
 * does in Lambda (it streams every closed subsegment at once there). The calls carry the
 * `X-Amzn-Trace-Id` header, so that the services they reach join the trace.
 *
 * Why not aws-xray-sdk-core (what Powertools Tracer wraps): it installs async hooks
 * (cls-hooked) for the whole process as soon as it is loaded, and every promise of every
 * request then pays for context bookkeeping, about 1.5 ms of CPU per WebSocket send plus the
 * garbage it makes; with its dependencies it is also 120 KiB of every bundle. It needs that
 * context to find a call's parent among concurrent requests; a Lambda execution environment
 * runs one invocation at a time, so the parent is simply the invocation being handled. The SDK
 * is in maintenance mode since 25 February 2026 (security fixes only), its end of support
 * 25 February 2027; the way forward AWS names, OpenTelemetry, carries its own context manager
 * and far more code, and its Lambda layer's auto-instrumentation cannot patch bundled modules.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

/** The `X-Amzn-Trace-Id` header Lambda gives each invocation (`Root=…;Parent=…;Sampled=1`). */
export interface TraceHeader {
  root: string;
  parent?: string;
  sampled: boolean;
  /** Every other field (Lineage, …), passed on unchanged. */
  extra: string[];
}

const TRACE_ID = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;
const SEGMENT_ID = /^[0-9a-f]{16}$/;

export function parseTraceHeader(value: string | undefined): TraceHeader | undefined {
  if (!value) return undefined;
  let root: string | undefined;
  let parent: string | undefined;
  let sampled = false;
  const extra: string[] = [];
  for (const part of value.split(';')) {
    const [key, field] = part.trim().split('=', 2) as [string, string | undefined];
    if (key === 'Root') root = field;
    else if (key === 'Parent') parent = field;
    else if (key === 'Sampled') sampled = field === '1';
    else if (key && field !== undefined) extra.push(`${key}=${field}`);
  }
  if (!root || !TRACE_ID.test(root)) return undefined;
  if (parent !== undefined && !SEGMENT_ID.test(parent)) return undefined;
  return { root, parent, sampled, extra };
}

/** A segment document as the X-Ray daemon takes it (only the fields written here). */
export interface SubsegmentDocument {
  type: 'subsegment';
  id: string;
  trace_id: string;
  parent_id: string;
  name: string;
  start_time: number;
  end_time: number;
  namespace?: 'aws' | 'remote';
  sql?: { url: string; database_type: string; sanitized_query?: string };
  annotations?: Record<string, string | number | boolean>;
  aws?: Record<string, unknown>;
  http?: { response?: { status?: number; content_length?: number } };
  error?: boolean;
  fault?: boolean;
  throttle?: boolean;
  cause?: { working_directory?: string; exceptions: { id: string; message: string; type: string; remote?: boolean }[] };
}

/** Where finished subsegments go. */
export interface SegmentSink {
  send(document: SubsegmentDocument): void;
}

const PROTOCOL_HEADER = '{"format":"json","version":1}\n';

/**
 * The daemon's UDP address from AWS_XRAY_DAEMON_ADDRESS, in either form the SDK reads:
 * `host:port`, or `tcp:host:port udp:host:port`.
 */
export function daemonAddress(value = '127.0.0.1:2000'): { host: string; port: number } {
  const udp = value.split(/\s+/).find((part) => part.startsWith('udp:'))?.slice(4) ?? value.replace(/^tcp:/, '');
  const colon = udp.lastIndexOf(':');
  const port = Number(udp.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) throw new Error(`AWS_XRAY_DAEMON_ADDRESS is not host:port: ${value}`);
  return { host: udp.slice(0, colon), port };
}

/**
 * Sends each document to the X-Ray daemon in one UDP datagram; a lost datagram loses a trace,
 * never a request. The address is read on the first send, and an unreadable one (which Lambda
 * never sets) switches the sink off rather than failing the function.
 */
export function udpDaemonSink(address?: { host: string; port: number }): SegmentSink {
  let socket: Socket | undefined;
  let target: { host: string; port: number } | null | undefined = address;
  return {
    send(document) {
      if (target === undefined) {
        try {
          target = daemonAddress(process.env.AWS_XRAY_DAEMON_ADDRESS);
        } catch {
          target = null;
        }
      }
      if (target === null) return;
      if (!socket) {
        socket = createSocket('udp4');
        socket.on('error', () => undefined);
        socket.unref();
      }
      socket.send(PROTOCOL_HEADER + JSON.stringify(document), target.port, target.host, () => undefined);
    },
  };
}

const now = () => Date.now() / 1000;
const newId = () => randomBytes(8).toString('hex');

/** The invocation being handled: its trace, and the id of its `## handler` subsegment. */
interface Invocation {
  header: TraceHeader & { parent: string };
  subsegment: SubsegmentDocument;
}

/** What a failed call or invocation records: the error's name and message (never its data). */
function causeOf(error: unknown, remote: boolean): NonNullable<SubsegmentDocument['cause']> {
  const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
  return { exceptions: [{ id: newId(), message, type: name, ...(remote ? { remote: true } : {}) }] };
}

/** An AWS SDK v3 client as far as tracing it goes: its middleware stack and its region. */
export interface TraceableClient {
  middlewareStack: { add(middleware: unknown, options: { name: string; step: 'build'; override?: boolean }): void };
  config: { region: string | (() => Promise<string>) };
}

interface SdkContext {
  clientName?: string;
  commandName?: string;
}
interface SdkArgs {
  input?: Record<string, unknown>;
  request?: { headers?: Record<string, string> };
}
interface SdkOutput {
  output?: { $metadata?: SdkMetadata };
  response?: { statusCode?: number; headers?: Record<string, string | undefined> };
}
interface SdkMetadata {
  httpStatusCode?: number;
  requestId?: string;
  attempts?: number;
}

const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'ThrottledException', 'RequestThrottledException', 'TooManyRequestsException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'SlowDown']);

/** What X-Ray shows of a call's input: the table or queue it reached (as the SDK records them). */
function resourceOf(input: Record<string, unknown> = {}): Record<string, unknown> {
  const resource: Record<string, unknown> = {};
  if (typeof input.TableName === 'string') resource.table_name = input.TableName;
  if (input.RequestItems && typeof input.RequestItems === 'object') resource.table_names = Object.keys(input.RequestItems);
  if (typeof input.QueueUrl === 'string') resource.queue_url = input.QueueUrl;
  if (typeof input.Bucket === 'string') resource.bucket_name = input.Bucket;
  if (typeof input.TopicArn === 'string') resource.topic_arn = input.TopicArn;
  return resource;
}

/**
 * The invocation's trace header where Lambda keeps it: its invoke store when the runtime has one
 * (as the X-Ray SDK reads it first), else `_X_AMZN_TRACE_ID`, which the runtime sets for each
 * invocation.
 */
function lambdaTraceHeader(): string | undefined {
  const store = (globalThis as { awslambda?: { InvokeStore?: { getXRayTraceId?: () => string | undefined } } }).awslambda?.InvokeStore;
  return store?.getXRayTraceId?.() ?? process.env._X_AMZN_TRACE_ID;
}

export interface XRayTracerOptions {
  serviceName: string;
  /** The handler's name for the invocation subsegment (`## index.handler`): Lambda's `_HANDLER`. */
  handlerName: string;
  sink?: SegmentSink;
  /** The current invocation's trace header (default: Lambda's, `lambdaTraceHeader`). */
  traceHeader?: () => string | undefined;
}

export class XRayTracer {
  readonly #serviceName: string;
  readonly #handlerName: string;
  readonly #sink: SegmentSink;
  readonly #traceHeader: () => string | undefined;
  #coldStart = true;
  #current: Invocation | undefined;

  constructor(options: XRayTracerOptions) {
    this.#serviceName = options.serviceName;
    this.#handlerName = options.handlerName;
    this.#sink = options.sink ?? udpDaemonSink();
    this.#traceHeader = options.traceHeader ?? lambdaTraceHeader;
  }

  /** Opens the invocation's subsegment; nothing is recorded for an invocation that is not sampled. */
  startInvocation(): void {
    const coldStart = this.#coldStart;
    this.#coldStart = false;
    const header = parseTraceHeader(this.#traceHeader());
    this.#current = undefined;
    if (!header?.sampled || !header.parent) return;
    this.#current = {
      header: { ...header, parent: header.parent },
      subsegment: {
        type: 'subsegment',
        id: newId(),
        trace_id: header.root,
        parent_id: header.parent,
        name: `## ${this.#handlerName}`,
        start_time: now(),
        end_time: 0,
        annotations: { ColdStart: coldStart, Service: this.#serviceName },
      },
    };
  }

  /** Closes and sends the invocation's subsegment, with the error that failed it, if one did. */
  endInvocation(error?: unknown): void {
    const invocation = this.#current;
    this.#current = undefined;
    if (!invocation) return;
    const subsegment = { ...invocation.subsegment, end_time: now() };
    if (error !== undefined) Object.assign(subsegment, { fault: true, cause: causeOf(error, false) });
    this.#sink.send(subsegment);
  }

  /**
   * Records one SQL statement that ran for the current invocation as a `remote` subsegment named
   * `database@host`, as the X-Ray SDK's pg capture names them, with the statement's text
   * (placeholders, never the values; cut at 1 000 characters) and the server's address without
   * credentials. Nothing outside a sampled invocation.
   */
  recordSql(query: { sql: string; startedAtMs: number; durationMs: number }, database: { url: string }): void {
    const invocation = this.#current;
    if (!invocation) return;
    let server: URL;
    try {
      server = new URL(database.url);
    } catch {
      return;
    }
    const { host, hostname, pathname } = server;
    this.#sink.send({
      type: 'subsegment',
      id: newId(),
      trace_id: invocation.header.root,
      parent_id: invocation.subsegment.id,
      name: `${decodeURIComponent(pathname.slice(1))}@${hostname}`,
      namespace: 'remote',
      start_time: query.startedAtMs / 1000,
      end_time: (query.startedAtMs + query.durationMs) / 1000,
      sql: { url: `postgresql://${host}${pathname}`, database_type: 'PostgreSQL', sanitized_query: query.sql.slice(0, 1000) },
    });
  }

  /** Adds a subsegment per call to an AWS SDK v3 client (idempotent: a second call replaces the first). */
  captureClient<T extends TraceableClient>(client: T): T {
    const region = client.config.region;
    const regionOf = async () => (typeof region === 'function' ? region() : region);
    const middleware =
      (next: (args: SdkArgs) => Promise<SdkOutput>, context: SdkContext) =>
      async (args: SdkArgs): Promise<SdkOutput> => {
        const invocation = this.#current;
        if (!invocation) return next(args);
        const subsegment: SubsegmentDocument = {
          type: 'subsegment',
          id: newId(),
          trace_id: invocation.header.root,
          parent_id: invocation.subsegment.id,
          name: (context.clientName ?? 'AWS').replace(/Client$/, ''),
          namespace: 'aws',
          start_time: now(),
          end_time: 0,
        };
        if (args.request?.headers) {
          args.request.headers['X-Amzn-Trace-Id'] = [`Root=${invocation.header.root}`, `Parent=${subsegment.id}`, 'Sampled=1', ...invocation.header.extra].join(';');
        }
        const record = async (metadata: SdkMetadata | undefined, contentLength?: string) => {
          subsegment.end_time = now();
          subsegment.aws = {
            operation: (context.commandName ?? '').replace(/Command$/, ''),
            region: await regionOf().catch(() => undefined),
            ...(metadata?.requestId ? { request_id: metadata.requestId } : {}),
            ...(metadata?.attempts ? { retries: metadata.attempts - 1 } : {}),
            ...resourceOf(args.input),
          };
          const status = metadata?.httpStatusCode;
          if (status) subsegment.http = { response: { status, ...(contentLength ? { content_length: Number(contentLength) } : {}) } };
          if (status === 429) subsegment.throttle = true;
          if (status && status >= 500) subsegment.fault = true;
          else if (status && status >= 400) subsegment.error = true;
        };
        try {
          const result = await next(args);
          await record(result.output?.$metadata, result.response?.headers?.['content-length']);
          this.#sink.send(subsegment);
          return result;
        } catch (error) {
          await record((error as { $metadata?: SdkMetadata }).$metadata);
          if (THROTTLING.has((error as Error).name)) subsegment.throttle = true;
          // No answer at all (a timeout, a reset connection) is a fault, as a 5xx is; a 4xx is an error.
          if (!subsegment.fault && !subsegment.error) subsegment.fault = true;
          subsegment.cause = causeOf(error, true);
          this.#sink.send(subsegment);
          throw error;
        }
      };
    client.middlewareStack.add(middleware, { name: 'XRayTracing', step: 'build', override: true });
    return client;
  }
}
