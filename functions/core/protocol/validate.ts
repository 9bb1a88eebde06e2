/**
 * Checking a value against the protocol: an HTTP response body against its route's contract for
 * its status, a server frame against SERVER_EVENT_SCHEMAS, an ack against its action's schema.
 * Stricter than parsing: a key the schema does not name is an issue too, so a field the API adds
 * without declaring it is caught as surely as one it drops. The test harnesses run every response
 * and frame through these.
 */
import type { z } from 'zod';
import { ERROR_STATUS } from '../errors.ts';
import { WS_ACTIONS, type RouteKey } from './actions.ts';
import { SERVER_EVENT_SCHEMAS, serverFrameEnvelope, type ServerEvent } from './events.ts';
import { HTTP_CONTRACT, type HttpOperation, type HttpRouteName } from './http.ts';

export interface ContractIssue {
  path: string;
  message: string;
}

/** A response or frame that does not match the protocol, with every issue found. */
export class ContractViolation extends Error {
  constructor(
    readonly what: string,
    readonly issues: ContractIssue[],
    readonly value: unknown,
  ) {
    super(`${what} does not match the protocol:\n${formatIssues(issues)}\nvalue: ${preview(value)}`);
    this.name = 'ContractViolation';
  }
}

export function formatIssues(issues: readonly ContractIssue[]): string {
  return issues.map((issue) => `  - ${issue.path || '(root)'}: ${issue.message}`).join('\n');
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const join = (path: readonly PropertyKey[]) => path.map(String).join('.');

/** Keys of `input` that parsing dropped: the schema does not name them. */
function unexpectedKeys(input: unknown, output: unknown, path: PropertyKey[], issues: ContractIssue[]): void {
  if (Array.isArray(input) && Array.isArray(output)) {
    input.forEach((item, i) => unexpectedKeys(item, output[i], [...path, i], issues));
  } else if (isObject(input) && isObject(output)) {
    for (const key of Object.keys(input)) {
      if (!Object.hasOwn(output, key)) issues.push({ path: join([...path, key]), message: `unexpected key "${key}": the schema does not declare it` });
      else unexpectedKeys(input[key], output[key], [...path, key], issues);
    }
  }
}

/** Every way `value` differs from `schema`: zod's issues, and keys the schema does not name. */
export function conformance(schema: z.ZodType, value: unknown): ContractIssue[] {
  const parsed = schema.safeParse(value);
  if (!parsed.success) return parsed.error.issues.map((issue) => ({ path: join(issue.path), message: issue.message }));
  const issues: ContractIssue[] = [];
  unexpectedKeys(value, parsed.data, [], issues);
  return issues;
}

/** A server → client frame against SERVER_EVENT_SCHEMAS. */
export function checkServerFrame(frame: unknown): ContractIssue[] {
  const envelope = conformance(serverFrameEnvelope, frame);
  if (envelope.length > 0) return envelope;
  const { event, data } = frame as { event: ServerEvent; data: unknown };
  return conformance(SERVER_EVENT_SCHEMAS[event], data).map((issue) => ({ ...issue, path: issue.path ? `data.${issue.path}` : 'data' }));
}

/** A `chat-ack`'s data (the ack frame's `data.data`) against its action's ack schema. */
export function checkAck(routeKey: RouteKey, ack: unknown): ContractIssue[] {
  return conformance(WS_ACTIONS[routeKey].ack, ack);
}

/**
 * An HTTP response body against the route's contract: its status must be declared, and its body
 * match that status's schema; an error body's code must be the one its status stands for.
 */
export function checkHttpResponse(route: HttpRouteName, status: number, body: unknown): ContractIssue[] {
  const responses = (HTTP_CONTRACT[route] as HttpOperation).responses;
  const spec = responses[status];
  if (!spec) {
    return [{ path: '', message: `${route} answered ${status}, which its contract does not declare (declared: ${Object.keys(responses).join(', ')})` }];
  }
  if (!spec.schema) return [];
  const issues = conformance(spec.schema, body);
  const code = isObject(body) && isObject(body.error) ? body.error.code : undefined;
  if (issues.length === 0 && typeof code === 'string' && ERROR_STATUS[code as keyof typeof ERROR_STATUS] !== status) {
    issues.push({ path: 'error.code', message: `${code} is not answered with ${status}` });
  }
  return issues;
}

/** Throws a ContractViolation when `issues` is not empty. */
export function assertConforms(what: string, issues: readonly ContractIssue[], value: unknown): void {
  if (issues.length > 0) throw new ContractViolation(what, [...issues], value);
}
