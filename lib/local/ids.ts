/**
 * Identifiers and timestamps in the shapes API Gateway and Lambda use, so that code which logs,
 * stores or parses them behaves the same locally.
 */
import { randomBytes, randomInt } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * An id shaped like API Gateway's connection and request ids (`Ynx9WdeFIAMCIzg=`): 15
 * alphanumerics and `=`. Real ones are base64 of 11 bytes; leaving out `+` and `/` keeps them
 * safe in a URL path, as the real ones are in practice.
 */
export function apiGatewayId(): string {
  let id = '';
  for (let i = 0; i < 15; i++) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return `${id}=`;
}

/** An X-Ray trace header value: `Root=1-<epoch seconds, hex>-<24 hex>`. */
export function traceId(now = Date.now()): string {
  return `Root=1-${Math.floor(now / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's `requestContext.time` / `requestTime`: `12/Mar/2020:19:03:58 +0000` (UTC). */
export function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/** A Lambda log stream name: `2024/01/31/[$LATEST]<32 hex>`. */
export function logStreamName(now = Date.now()): string {
  const date = new Date(now).toISOString().slice(0, 10).replaceAll('-', '/');
  return `${date}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

export type WebSocketEventType = 'CONNECT' | 'MESSAGE' | 'DISCONNECT';

/** The `requestContext` API Gateway puts on a WebSocket event; the emulator and handler tests share it. */
export function webSocketRequestContext(input: {
  connectionId: string;
  connectedAt: number;
  routeKey: string;
  eventType: WebSocketEventType;
  now: number;
  stage: string;
  apiId: string;
  domainName: string;
  sourceIp: string;
  userAgent: string;
}) {
  const requestId = apiGatewayId();
  return {
    routeKey: input.routeKey,
    eventType: input.eventType,
    extendedRequestId: requestId,
    requestTime: requestTime(input.now),
    messageDirection: 'IN',
    stage: input.stage,
    connectedAt: input.connectedAt,
    requestTimeEpoch: input.now,
    identity: { userAgent: input.userAgent, sourceIp: input.sourceIp },
    requestId,
    domainName: input.domainName,
    connectionId: input.connectionId,
    apiId: input.apiId,
  };
}
