import {
  ApiGatewayManagementApiClient,
  ApiGatewayManagementApiServiceException,
  DeleteConnectionCommand,
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { classify, forEachLimited, makeBroadcaster } from '#adapters/apigateway/broadcaster';
import type { Logger } from '#core/ports';
import type { ServerFrame } from '#core/protocol';

const api = mockClient(ApiGatewayManagementApiClient);
const client = new ApiGatewayManagementApiClient({ region: 'us-east-1', endpoint: 'https://example.invalid/prod' });
const frame: ServerFrame = { event: 'chat-pong', data: { at: '2030-01-01T00:00:00.000Z', text: 'héllo 👋' } };

const gone = () => new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } });
const throttled = () => new LimitExceededException({ message: 'Slow down', $metadata: { httpStatusCode: 429 } });
const serverError = () =>
  new ApiGatewayManagementApiServiceException({
    name: 'InternalServerErrorException',
    $fault: 'server',
    message: 'Internal server error',
    $metadata: { httpStatusCode: 500 },
  });
const tooLarge = () => new PayloadTooLargeException({ message: 'Too large', $metadata: { httpStatusCode: 413 } });
const forbidden = () => new ForbiddenException({ message: 'Forbidden', $metadata: { httpStatusCode: 403 } });
const networkError = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

function recordingLogger() {
  const lines: { level: string; message: string; details?: Record<string, unknown> }[] = [];
  const logger: Logger = {
    info: (message, details) => lines.push({ level: 'info', message, details }),
    warn: (message, details) => lines.push({ level: 'warn', message, details }),
    error: (message, details) => lines.push({ level: 'error', message, details }),
  };
  return { logger, lines };
}

const postsTo = (connectionId: string) =>
  api.commandCalls(PostToConnectionCommand).filter((call) => call.args[0].input.ConnectionId === connectionId).length;

beforeEach(() => api.reset());
afterEach(() => api.reset());

describe('Broadcaster.send', () => {
  it('posts the JSON frame bytes to every connection and reports them delivered', async () => {
    api.on(PostToConnectionCommand).resolves({});
    const report = await makeBroadcaster({ client }).send(['a', 'b', 'c'], frame);

    expect(report).toEqual({ delivered: ['a', 'b', 'c'], gone: [], failed: [] });
    const calls = api.commandCalls(PostToConnectionCommand);
    expect(calls.map((call) => call.args[0].input.ConnectionId).sort()).toEqual(['a', 'b', 'c']);
    for (const call of calls) {
      const data = call.args[0].input.Data as Uint8Array;
      expect(Buffer.from(data).toString('utf8')).toBe(JSON.stringify(frame));
    }
  });

  it('reports a 410 GoneException as gone without retrying it', async () => {
    api.on(PostToConnectionCommand).resolves({});
    api.on(PostToConnectionCommand, { ConnectionId: 'stale' }).rejects(gone());
    const report = await makeBroadcaster({ client, baseDelayMs: 1 }).send(['live', 'stale'], frame);

    expect(report).toEqual({ delivered: ['live'], gone: ['stale'], failed: [] });
    expect(postsTo('stale')).toBe(1);
  });

  it('treats any 410 answer as gone, even without the error name', async () => {
    api.on(PostToConnectionCommand).rejects(
      new ApiGatewayManagementApiServiceException({ name: 'UnknownError', $fault: 'client', $metadata: { httpStatusCode: 410 } }),
    );
    const report = await makeBroadcaster({ client, baseDelayMs: 1 }).send(['x'], frame);
    expect(report.gone).toEqual(['x']);
    expect(postsTo('x')).toBe(1);
  });

  it('retries a throttled post and then delivers it', async () => {
    api.on(PostToConnectionCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({});
    const report = await makeBroadcaster({ client, baseDelayMs: 1 }).send(['a'], frame);

    expect(report).toEqual({ delivered: ['a'], gone: [], failed: [] });
    expect(postsTo('a')).toBe(3);
  });

  it('retries network errors (no HTTP answer) and then delivers', async () => {
    api.on(PostToConnectionCommand).rejectsOnce(networkError()).resolves({});
    const report = await makeBroadcaster({ client, baseDelayMs: 1 }).send(['a'], frame);
    expect(report.delivered).toEqual(['a']);
    expect(postsTo('a')).toBe(2);
  });

  it('reports a persistent 500 as failed after 1 + retries attempts, and logs it', async () => {
    api.on(PostToConnectionCommand).rejects(serverError());
    const { logger, lines } = recordingLogger();

    const report = await makeBroadcaster({ client, baseDelayMs: 1, logger }).send(['a'], frame);
    expect(report).toEqual({ delivered: [], gone: [], failed: ['a'] });
    expect(postsTo('a')).toBe(3);

    api.resetHistory();
    const more = await makeBroadcaster({ client, baseDelayMs: 1, retries: 4 }).send(['b'], frame);
    expect(more.failed).toEqual(['b']);
    expect(postsTo('b')).toBe(5);

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      details: { connectionId: 'a', attempts: 3, error: 'InternalServerErrorException', status: 500 },
    });
    expect(JSON.stringify(lines)).not.toContain('héllo');
  });

  it('fails a 413 PayloadTooLarge and a 403 Forbidden at once, without retrying', async () => {
    api.on(PostToConnectionCommand, { ConnectionId: 'big' }).rejects(tooLarge());
    api.on(PostToConnectionCommand, { ConnectionId: 'denied' }).rejects(forbidden());
    const report = await makeBroadcaster({ client, baseDelayMs: 1 }).send(['big', 'denied'], frame);

    expect(report).toEqual({ delivered: [], gone: [], failed: ['big', 'denied'] });
    expect(postsTo('big')).toBe(1);
    expect(postsTo('denied')).toBe(1);
  });

  it('backs off between attempts, exponentially', async () => {
    api.on(PostToConnectionCommand).rejects(serverError());
    const started = performance.now();
    // Equal jitter waits at least half of each step: 20 ms + 40 ms.
    await makeBroadcaster({ client, baseDelayMs: 40, retries: 2 }).send(['a'], frame);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('never has more posts in flight than the concurrency bound', async () => {
    let inFlight = 0;
    let peak = 0;
    api.on(PostToConnectionCommand).callsFake(async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 5));
      inFlight -= 1;
      return {};
    });
    const ids = Array.from({ length: 60 }, (_, i) => `c${i}`);

    const report = await makeBroadcaster({ client, concurrency: 7 }).send(ids, frame);
    expect(report.delivered).toEqual(ids);
    expect(peak).toBe(7);
    expect(inFlight).toBe(0);
  });

  it('keeps retries inside the concurrency bound too', async () => {
    let inFlight = 0;
    let peak = 0;
    api.on(PostToConnectionCommand).callsFake(async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight -= 1;
      throw throttled();
    });
    const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
    const report = await makeBroadcaster({ client, concurrency: 3, baseDelayMs: 1 }).send(ids, frame);
    expect(report.failed).toHaveLength(20);
    expect(peak).toBeLessThanOrEqual(3);
  });

  it('puts every connection in exactly one list, once, in the order given', async () => {
    api.on(PostToConnectionCommand).resolves({});
    api.on(PostToConnectionCommand, { ConnectionId: 'g' }).rejects(gone());
    api.on(PostToConnectionCommand, { ConnectionId: 'f' }).rejects(tooLarge());
    const report = await makeBroadcaster({ client }).send(['d2', 'g', 'd1', 'f', 'd2', 'g'], frame);

    expect(report).toEqual({ delivered: ['d2', 'd1'], gone: ['g'], failed: ['f'] });
    expect(postsTo('d2')).toBe(1);
  });

  it('sends nothing for an empty fan-out', async () => {
    const report = await makeBroadcaster({ client }).send([], frame);
    expect(report).toEqual({ delivered: [], gone: [], failed: [] });
    expect(api.calls()).toHaveLength(0);
  });

  it('never throws, whatever the client throws', async () => {
    api.on(PostToConnectionCommand, { ConnectionId: 'weird' }).callsFake(() => {
      throw 'not even an Error';
    });
    api.on(PostToConnectionCommand, { ConnectionId: 'null' }).callsFake(() => Promise.reject(null));
    const report = await makeBroadcaster({ client, baseDelayMs: 1 }).send(['weird', 'null'], frame);
    expect(report.failed).toEqual(['weird', 'null']);
  });

  it('refuses a nonsensical configuration', () => {
    expect(() => makeBroadcaster({ client, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => makeBroadcaster({ client, retries: -1 })).toThrow(/retries/);
  });
});

describe('Broadcaster.close', () => {
  it('deletes the connection', async () => {
    api.on(DeleteConnectionCommand).resolves({});
    await makeBroadcaster({ client }).close('abc=');
    expect(api.commandCalls(DeleteConnectionCommand)[0]?.args[0].input).toEqual({ ConnectionId: 'abc=' });
  });

  it('ignores a connection that is already gone', async () => {
    api.on(DeleteConnectionCommand).rejects(gone());
    await expect(makeBroadcaster({ client }).close('stale')).resolves.toBeUndefined();
    expect(api.commandCalls(DeleteConnectionCommand)).toHaveLength(1);
  });

  it('retries a throttled close', async () => {
    api.on(DeleteConnectionCommand).rejectsOnce(throttled()).resolves({});
    await makeBroadcaster({ client, baseDelayMs: 1 }).close('a');
    expect(api.commandCalls(DeleteConnectionCommand)).toHaveLength(2);
  });

  it('throws the last error when closing keeps failing', async () => {
    api.on(DeleteConnectionCommand).rejects(serverError());
    await expect(makeBroadcaster({ client, baseDelayMs: 1 }).close('a')).rejects.toMatchObject({
      name: 'InternalServerErrorException',
    });
    expect(api.commandCalls(DeleteConnectionCommand)).toHaveLength(3);
  });
});

describe('classify', () => {
  it.each([
    ['GoneException', gone(), 'gone'],
    ['LimitExceededException (429)', throttled(), 'retry'],
    ['a 500', serverError(), 'retry'],
    ['a 503', new ApiGatewayManagementApiServiceException({ name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } }), 'retry'],
    ['a network error', networkError(), 'retry'],
    ['a TimeoutError', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'retry'],
    ['PayloadTooLarge (413)', tooLarge(), 'fail'],
    ['Forbidden (403)', forbidden(), 'fail'],
    ['a 400', new ApiGatewayManagementApiServiceException({ name: 'BadRequestException', $fault: 'client', $metadata: { httpStatusCode: 400 } }), 'fail'],
  ])('%s → %s', (_name, error, verdict) => {
    expect(classify(error)).toBe(verdict);
  });
});

describe('forEachLimited', () => {
  it('visits every item once, with its index', async () => {
    const seen: string[] = [];
    await forEachLimited(['a', 'b', 'c'], 2, async (item, index) => {
      seen.push(`${index}:${item}`);
    });
    expect(seen.sort()).toEqual(['0:a', '1:b', '2:c']);
  });
});
