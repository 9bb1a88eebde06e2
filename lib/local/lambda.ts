/**
 * Runs Lambda handlers in this process the way the Lambda runtime would, close enough for the
 * handlers not to notice: one module instance per function (module scope survives between
 * invocations, like a warm container), loaded on the first invocation; a Lambda `Context` per
 * invocation with a deadline; a timeout; and every failure caught and reported, never thrown.
 *
 * Handlers are found by their manifest entry: `<handlersDir>/<entry>.ts` exporting `handler`
 * (async, or callback-style). A module that is missing is reported as such and looked for again
 * on the next invocation, so a handler written while the runtime runs is picked up without a
 * restart.
 */
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { logStreamName } from './ids.ts';
import type { EmulatorLog } from './log.ts';

/** What the host needs to know about a function: its manifest name and handler entry. */
export interface LambdaFunction {
  name: string;
  entry: string;
}

export type Invocation =
  /** The handler returned (or called back with) `result`. */
  | { status: 'ok'; result: unknown; requestId: string }
  /** No module at `<handlersDir>/<entry>.ts`. */
  | { status: 'missing'; file: string; requestId: string }
  /** The module failed to load, or exports no `handler` function (Lambda's Runtime.ImportModuleError / HandlerNotFound). */
  | { status: 'init-error'; error: unknown; requestId: string }
  /** The handler threw, rejected, or called back with an error. */
  | { status: 'error'; error: unknown; requestId: string }
  /** The handler did not finish within the function timeout. */
  | { status: 'timeout'; timeoutMs: number; requestId: string };

export interface LambdaHostOptions {
  /** The folder that holds `http/…` and `ws/…` handler modules. */
  handlersDir: string;
  /** Lambda's function timeout, per invocation. Default 30 s. */
  timeoutMs?: number;
  /** For the context's ARN. */
  region?: string;
  accountId?: string;
  memoryLimitInMB?: number;
  log: EmulatorLog;
}

export interface LambdaHost {
  /** The module file that serves `entry`. */
  fileOf(entry: string): string;
  invoke(fn: LambdaFunction, event: unknown): Promise<Invocation>;
}

type Handler = (event: unknown, context: Context, callback: (error?: unknown, result?: unknown) => void) => unknown;

export const DEFAULT_FUNCTION_TIMEOUT_MS = 30_000;

export function createLambdaHost(options: LambdaHostOptions): LambdaHost {
  const { handlersDir, log } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_FUNCTION_TIMEOUT_MS;
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const modules = new Map<string, Promise<Handler>>();

  const fileOf = (entry: string) => path.resolve(handlersDir, `${entry}.ts`);

  function load(entry: string, file: string): Promise<Handler> {
    let pending = modules.get(entry);
    if (!pending) {
      pending = import(pathToFileURL(file).href).then((module: { handler?: unknown }) => {
        if (typeof module.handler !== 'function') {
          throw new Error(`${path.relative(process.cwd(), file)} does not export a function named handler`);
        }
        return module.handler as Handler;
      });
      modules.set(entry, pending);
      // Like a failed Lambda init: the next invocation tries again.
      pending.catch(() => modules.delete(entry));
    }
    return pending;
  }

  function contextFor(fn: LambdaFunction, requestId: string, deadline: number, settle: (error: unknown, result?: unknown) => void): Context {
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName: fn.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${fn.name}`,
      memoryLimitInMB: String(options.memoryLimitInMB ?? 1024),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${fn.name}`,
      logStreamName: logStreamName(),
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: (error, result) => settle(error, result),
      fail: (error) => settle(typeof error === 'string' ? new Error(error) : error),
      succeed: (result: unknown) => settle(undefined, result),
    };
  }

  async function invoke(fn: LambdaFunction, event: unknown): Promise<Invocation> {
    const requestId = randomUUID();
    const file = fileOf(fn.entry);
    if (!existsSync(file)) return { status: 'missing', file, requestId };

    let handler: Handler;
    try {
      handler = await load(fn.entry, file);
    } catch (error) {
      log.error(`${fn.name}: the handler module failed to load (${path.relative(process.cwd(), file)})`, error);
      return { status: 'init-error', error, requestId };
    }

    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<Invocation>((resolve) => {
      timer = setTimeout(() => resolve({ status: 'timeout', timeoutMs, requestId }), timeoutMs);
    });
    const run = new Promise<unknown>((resolve, reject) => {
      let settled = false;
      const settle = (error: unknown, result?: unknown) => {
        if (settled) return;
        settled = true;
        if (error !== undefined && error !== null) reject(error);
        else resolve(result);
      };
      const context = contextFor(fn, requestId, deadline, settle);
      try {
        const returned = handler(event, context, settle);
        if (returned && typeof (returned as PromiseLike<unknown>).then === 'function') {
          (returned as PromiseLike<unknown>).then(
            (result) => settle(undefined, result),
            (error: unknown) => settle(error ?? new Error('The handler rejected without a reason')),
          );
        } else if (handler.length < 3) {
          // A synchronous handler that takes no callback: its return value is the result.
          settle(undefined, returned);
        }
      } catch (error) {
        settle(error ?? new Error('The handler threw without a reason'));
      }
    }).then(
      (result): Invocation => ({ status: 'ok', result, requestId }),
      (error: unknown): Invocation => ({ status: 'error', error, requestId }),
    );

    const outcome = await Promise.race([run, timedOut]);
    clearTimeout(timer);
    if (outcome.status === 'error') log.error(`${fn.name} ${requestId}: the handler failed`, outcome.error);
    if (outcome.status === 'timeout') {
      log.error(`${fn.name} ${requestId}: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    }
    return outcome;
  }

  return { fileOf, invoke };
}
