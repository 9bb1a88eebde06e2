/**
 * The REST API, typed: one method per route of the contract (functions/config/routes.ts), each
 * taking `{params, query, body}` as the server's request schemas accept them and answering the
 * body of its success response.
 */
import { ChatError } from './errors.ts';
import type { HttpRouteName, RouteInput, RouteOutput } from './protocol.ts';
import { ROUTES } from './routes.ts';

/** What the client needs of `fetch`: the platform's own (browsers, React Native, Node 18+) fits. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<{ status: number; text(): Promise<string>; headers: { get(name: string): string | null } }>;

export type RestApi = { [N in HttpRouteName]: (input: RouteInput<N>) => Promise<RouteOutput<N>> };

interface RawInput {
  params?: Record<string, string | number>;
  query?: Record<string, string | number | boolean | undefined | null>;
  body?: unknown;
}

const PUBLIC: ReadonlySet<string> = new Set(['health', 'apiDocs', 'openApiDocument']);

export interface RestOptions {
  httpUrl: string;
  fetch: FetchLike;
  /** The bearer token; `fresh` asks for a new one (after a 401). */
  token(fresh: boolean): Promise<string>;
}

/** Builds a route's URL from its path template, path parameters and query. */
export function routeUrl(httpUrl: string, path: string, input: RawInput): string {
  const filled = path.replace(/\{(\w+)\}/g, (_all, name: string) => {
    const value = input.params?.[name];
    if (value === undefined) throw new ChatError('VALIDATION_ERROR', `${name} is required`);
    return encodeURIComponent(String(value));
  });
  const query = Object.entries(input.query ?? {})
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
    .join('&');
  return `${httpUrl.replace(/\/+$/, '')}${filled}${query ? `?${query}` : ''}`;
}

export function createRestApi(options: RestOptions): RestApi {
  const call = async (name: HttpRouteName, input: RawInput = {}): Promise<unknown> => {
    const [method, path] = ROUTES[name];
    const url = routeUrl(options.httpUrl, path, input);
    const attempt = async (fresh: boolean) => {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (!PUBLIC.has(name)) headers.authorization = `Bearer ${await options.token(fresh)}`;
      const init: Parameters<FetchLike>[1] = { method, headers };
      if (input.body !== undefined) {
        headers['content-type'] = 'application/json';
        init.body = JSON.stringify(input.body);
      }
      try {
        return await options.fetch(url, init);
      } catch (error) {
        throw new ChatError('NETWORK', `${method} ${path}: ${(error as Error)?.message ?? String(error)}`);
      }
    };
    let response = await attempt(false);
    if (response.status === 401 && !PUBLIC.has(name)) response = await attempt(true);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (the docs page): the text itself.
    }
    if (response.status >= 400) {
      const error = (body as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      const code = (error?.code ?? (response.status === 401 ? 'UNAUTHORIZED' : response.status >= 500 ? 'UNAVAILABLE' : 'VALIDATION_ERROR')) as ChatError['code'];
      throw new ChatError(code, error?.message ?? `${method} ${path} answered ${response.status}`, error?.details, response.status);
    }
    return body;
  };
  const api = {} as Record<string, (input?: RawInput) => Promise<unknown>>;
  for (const name of Object.keys(ROUTES) as HttpRouteName[]) api[name] = (input) => call(name, input ?? {});
  return api as unknown as RestApi;
}
