/**
 * The API reference page served at GET /api/docs: server-rendered HTML with no external assets (it
 * reads offline), generated from the same sources as the API itself: the OpenAPI document (built
 * from the route manifest and HTTP_CONTRACT), WS_ACTIONS, WS_ACTION_ERRORS, SERVER_EVENT_SCHEMAS
 * and ERROR_STATUS. Every request body, query, path parameter, response, action's data and ack and
 * event's data is a table of fields with their type, whether they are required and their rules;
 * shared shapes (Message, Conversation…) are tables of their own that the others link to.
 */
import { ERROR_STATUS, type ErrorCode } from '#core/errors';
import { ROUTE_KEYS, SERVER_EVENTS, SERVER_EVENT_SCHEMAS, WS_ACTIONS, WS_ACTION_ERRORS } from '#core/protocol';
import { toSchema } from './openapi.ts';

type JsonSchema = Record<string, unknown>;

interface Operation {
  operationId: string;
  summary: string;
  security?: unknown[];
  parameters: { name: string; in: string; required: boolean; schema: JsonSchema }[];
  requestBody?: { content: { 'application/json': { schema: JsonSchema } } };
  responses: Record<string, { description: string; content?: { 'application/json': { schema: JsonSchema } } }>;
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const code = (text: string) => `<code>${escape(text)}</code>`;
const anchor = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const refName = (ref: string) => ref.split('/').pop()!;

/** Bounds zod puts on every integer (the safe-integer range) say nothing to a reader. */
const SAFE = Number.MAX_SAFE_INTEGER;

/** A schema's type as a reader says it: "string", "integer ≥ 1", "Message", "`TEXT` or `IMAGE`"… */
function typeOf(schema: JsonSchema): string {
  if (typeof schema.$ref === 'string') {
    const name = refName(schema.$ref);
    return `<a href="#schema-${anchor(name)}">${escape(name)}</a>`;
  }
  if ('const' in schema) return code(JSON.stringify(schema.const));
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => code(String(v))).join(' | ');
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (union) {
    const parts = union.filter((s) => s.type !== 'null').map(typeOf);
    const nullable = union.some((s) => s.type === 'null');
    return `${parts.join(' or ')}${nullable ? ' or null' : ''}`;
  }
  if (schema.type === 'array') return `array of ${schema.items ? typeOf(schema.items as JsonSchema) : 'anything'}`;
  if (schema.type === 'object' && !schema.properties) {
    return schema.additionalProperties && typeof schema.additionalProperties === 'object'
      ? `object of ${typeOf(schema.additionalProperties as JsonSchema)}`
      : 'object';
  }
  if (typeof schema.type === 'string') return schema.format === 'date-time' ? 'string (ISO 8601 date-time)' : schema.type;
  return 'any JSON';
}

/** The rules a value must follow: lengths, ranges, defaults. */
function rulesOf(schema: JsonSchema): string[] {
  const rules: string[] = [];
  const target = ((schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined)?.find((s) => s.type !== 'null') ?? schema;
  const n = (key: string) => (typeof target[key] === 'number' && Math.abs(target[key]) < SAFE ? (target[key] as number) : undefined);
  const [min, max, minLength, maxLength] = [n('minimum'), n('maximum'), n('minLength'), n('maxLength')];
  if (min !== undefined && max !== undefined) rules.push(`${min}–${max}`);
  else if (min !== undefined) rules.push(`≥ ${min}`);
  else if (max !== undefined) rules.push(`≤ ${max}`);
  if (n('exclusiveMinimum') !== undefined) rules.push(`> ${n('exclusiveMinimum')}`);
  if (minLength !== undefined && maxLength !== undefined) rules.push(`${minLength}–${maxLength} characters`);
  else if (maxLength !== undefined) rules.push(`at most ${maxLength} characters`);
  else if (minLength !== undefined) rules.push(`at least ${minLength} character${minLength === 1 ? '' : 's'}`);
  if (n('minItems') !== undefined || n('maxItems') !== undefined) rules.push(`${n('minItems') ?? 0}–${n('maxItems') ?? '∞'} items`);
  if ('default' in schema) rules.push(`default ${code(JSON.stringify(schema.default))}`);
  return rules;
}

interface Row {
  name: string;
  type: string;
  required: boolean;
  notes: string;
}

/** Flattens an object schema into rows; nested objects become `a.b`, arrays of objects `a[].b`. */
function rowsOf(schema: JsonSchema, prefix = ''): Row[] {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).flatMap(([name, property]) => {
    const path = `${prefix}${name}`;
    const description = typeof property.description === 'string' ? escape(property.description) : '';
    const notes = [...rulesOf(property), description].filter(Boolean).join('; ');
    const nestedObject = property.type === 'object' && property.properties ? property : undefined;
    const items = property.type === 'array' ? (property.items as JsonSchema | undefined) : undefined;
    const nestedItems = items?.type === 'object' && items.properties ? items : undefined;
    const row: Row = {
      name: path,
      type: nestedObject ? 'object' : nestedItems ? 'array of objects' : typeOf(property),
      required: required.has(name),
      notes,
    };
    if (nestedObject) return [row, ...rowsOf(nestedObject, `${path}.`)];
    if (nestedItems) return [row, ...rowsOf(nestedItems, `${path}[].`)];
    return [row];
  });
}

/** Shared shapes, for schemas that are a reference to one: set while a page renders. */
let knownShapes: Record<string, JsonSchema> = {};

/** A table of an object's fields (a shared shape's own, for a reference), or one line for any other schema. */
function fields(schema: JsonSchema | undefined, empty = 'No fields.'): string {
  if (!schema) return `<p class="none">${empty}</p>`;
  if (typeof schema.$ref === 'string' && knownShapes[refName(schema.$ref)]) {
    return `<p>A ${typeOf(schema)}:</p>${fields(knownShapes[refName(schema.$ref)], empty)}`;
  }
  const isObject = schema.type === 'object' && schema.properties;
  if (!isObject) {
    if (schema.type === 'object' && !schema.additionalProperties) return `<p class="none">${empty}</p>`;
    return `<p>${typeOf(schema)}${schema.description ? ` — ${escape(String(schema.description))}` : ''}</p>`;
  }
  const rows = rowsOf(schema);
  if (rows.length === 0) return `<p class="none">${empty}</p>`;
  return `<div class="scroll"><table class="fields"><thead><tr><th>field</th><th>type</th><th>required</th><th>rules and meaning</th></tr></thead><tbody>${rows
    .map((r) => `<tr><td>${code(r.name)}</td><td>${r.type}</td><td>${r.required ? 'yes' : 'no'}</td><td>${r.notes}</td></tr>`)
    .join('')}</tbody></table></div>`;
}

/** Errors every authorized route may answer: said once, in the errors section, not on each route. */
const COMMON_STATUSES = new Set(['401', '500', '503']);

function httpOperation(path: string, method: string, op: Operation): string {
  const params = op.parameters.filter((p) => p.in === 'path');
  const query = op.parameters.filter((p) => p.in === 'query');
  const paramTable = (list: Operation['parameters']) =>
    fields({ type: 'object', properties: Object.fromEntries(list.map((p) => [p.name, p.schema])), required: list.filter((p) => p.required).map((p) => p.name) });
  const successes = Object.entries(op.responses).filter(([status]) => status.startsWith('2'));
  const failures = Object.entries(op.responses).filter(([status]) => !status.startsWith('2') && !COMMON_STATUSES.has(status));
  const common = Object.keys(op.responses).filter((status) => COMMON_STATUSES.has(status));
  const id = `http-${op.operationId}`;
  return `<section class="op" id="${id}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code class="path">${escape(path)}</code></h3>
<p>${escape(op.summary)}. ${op.security ? '<span class="badge open">no token</span>' : '<span class="badge auth">bearer token</span>'}</p>
${params.length ? `<h4>Path parameters</h4>${paramTable(params)}` : ''}
${query.length ? `<h4>Query</h4>${paramTable(query)}` : ''}
${op.requestBody ? `<h4>Body <small>application/json</small></h4>${fields(op.requestBody.content['application/json'].schema)}` : ''}
${successes
  .map(
    ([status, r]) =>
      `<h4>Response <span class="status ok">${status}</span></h4><p>${escape(r.description)}</p>${r.content ? fields(r.content['application/json'].schema) : ''}`,
  )
  .join('\n')}
${failures.length ? `<h4>Errors</h4><table class="errors"><tbody>${failures.map(([status, r]) => `<tr><td><span class="status err">${status}</span></td><td>${escape(r.description)}</td></tr>`).join('')}</tbody></table>` : ''}
${common.length ? `<p class="common">Also ${common.join(', ')}, as for <a href="#errors">every route</a>.</p>` : ''}
</section>`;
}

function wsActions(components: Record<string, JsonSchema>): string {
  return ROUTE_KEYS.map((key) => {
    const action = WS_ACTIONS[key];
    const errors = WS_ACTION_ERRORS[key] as readonly { code: ErrorCode; when: string }[];
    const reply = 'reply' in action ? action.reply : undefined;
    return `<section class="op" id="ws-${key}">
<h3><span class="method ws">WS</span> <code>${escape(action.event)}</code> <small>route key <code>${key}</code></small></h3>
<p>${escape(sentence(action.summary.replace(/^chat-[a-z-]+: /, '')))}. ${action.signedIn ? '<span class="badge auth">signed in</span>' : '<span class="badge open">also on a bare connection</span>'}</p>
<h4>data</h4>${fields(toSchema(action.data, components, 'input'), 'Any data, or none.')}
<h4>ack <small>the data of chat-ack for a frame with a requestId</small></h4>${fields(toSchema(action.ack, components, 'output'))}
<p>${reply ? `Reply event: <a href="#event-${reply}">${code(reply)}</a>.` : 'No reply event of its own.'}</p>
${errors.length ? `<h4>Errors <small>chat-error code</small></h4><table class="errors"><tbody>${errors.map((e) => `<tr><td><code>${e.code}</code></td><td>${escape(e.when)}</td></tr>`).join('')}</tbody></table>` : ''}
<p class="common">Also the <a href="#errors">codes every action shares</a>.</p>
</section>`;
  }).join('\n');
}

function serverEvents(components: Record<string, JsonSchema>): string {
  return SERVER_EVENTS.map(
    (event) => `<section class="op" id="event-${event}"><h3><span class="method event">EVENT</span> <code>${escape(event)}</code></h3>
<h4>data</h4>${fields(toSchema(SERVER_EVENT_SCHEMAS[event], components, 'output'))}</section>`,
  ).join('\n');
}

const ERROR_MEANING: Record<ErrorCode, string> = {
  VALIDATION_ERROR: 'The request or frame is malformed; details list each field and what it expects.',
  UNAUTHORIZED: 'No valid token (HTTP), or a signed-in action on a bare connection (WebSocket).',
  FORBIDDEN: 'The caller may not touch this conversation or message.',
  NOT_FOUND: 'No such conversation or message.',
  CONFLICT: 'The state forbids it (a conversation not ACTIVE, an edit window passed, a limit reached).',
  CURSOR_EXPIRED: 'A sync cursor older than the change log keeps: sync again without it.',
  PAYLOAD_TOO_LARGE: 'Over a size limit; details name the limit.',
  RATE_LIMITED: 'Too many sends; details say when to retry.',
  UNAVAILABLE: 'Postgres or DynamoDB did not answer in time: retry with backoff (sends keep their clientMessageId).',
  INTERNAL: 'Something went wrong on our side; it is logged.',
};

function errorsSection(): string {
  const rows = (Object.keys(ERROR_STATUS) as ErrorCode[])
    .map((c) => `<tr><td><code>${c}</code></td><td>${ERROR_STATUS[c]}</td><td>${escape(ERROR_MEANING[c])}</td></tr>`)
    .join('');
  return `<section id="errors"><h2>Errors</h2>
<p>An HTTP error answers <code>{"error": {"code", "message", "details?"}}</code> with the status below; a WebSocket action answers the event <a href="#event-chat-error"><code>chat-error</code></a> <code>{code, message, requestId?, details?}</code>.
Every route with a token may answer <b>401</b> <code>UNAUTHORIZED</code>; every route may answer <b>500</b> <code>INTERNAL</code>, and every route that reads data <b>503</b> <code>UNAVAILABLE</code>.
Every WebSocket action may answer <code>VALIDATION_ERROR</code>, <code>UNAVAILABLE</code> and <code>INTERNAL</code>, and a signed-in action on a bare connection <code>UNAUTHORIZED</code>.</p>
<table class="errors"><thead><tr><th>code</th><th>HTTP status</th><th>meaning</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

const STYLE = `
:root{--fg:#1d2330;--muted:#5b6474;--line:#e3e6eb;--bg:#fff;--code:#f3f5f8;--accent:#1f5fbf}
*{box-sizing:border-box}body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
.layout{display:flex;max-width:84rem;margin:0 auto}
nav{position:sticky;top:0;align-self:flex-start;height:100vh;overflow:auto;width:17rem;flex:none;padding:1.2rem 1rem;border-right:1px solid var(--line);font-size:.85rem}
nav h2{font-size:.75rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:1.2rem 0 .3rem}
nav a{display:block;color:var(--fg);text-decoration:none;padding:.1rem 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}nav a:hover{color:var(--accent)}
main{flex:1;min-width:0;padding:1.2rem 2rem 4rem}
h1{margin:.2rem 0}h2{margin-top:2.5rem;border-bottom:2px solid var(--line);padding-bottom:.3rem}h3{margin:0 0 .3rem;font-size:1.1rem;word-break:break-all}
h4{margin:1rem 0 .3rem;font-size:.9rem}h4 small,h3 small{font-weight:normal;color:var(--muted)}
.op{border:1px solid var(--line);border-radius:8px;padding:1rem 1.2rem;margin:1rem 0}
code{background:var(--code);border-radius:4px;padding:0 .25rem;font:.85em ui-monospace,SFMono-Regular,Menlo,monospace}
.method{display:inline-block;min-width:4.2rem;text-align:center;border-radius:4px;padding:.05rem .4rem;color:#fff;font:600 .75rem ui-monospace,monospace;vertical-align:middle}
.get{background:#1f7a4d}.post{background:#1f5fbf}.patch{background:#a15c00}.put{background:#6b3fa0}.delete{background:#b3261e}.ws{background:#0e7c86}.event{background:#4a5568}
.badge{font-size:.75rem;border-radius:999px;padding:.05rem .5rem;border:1px solid}.auth{color:#a15c00}.open{color:#1f7a4d}
table{border-collapse:collapse;width:100%;font-size:.88rem;margin:.3rem 0}th,td{border-bottom:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}th{color:var(--muted);font-weight:600}
.status{font:600 .8rem ui-monospace,monospace;border-radius:4px;padding:0 .3rem}.ok{background:#e3f4ea;color:#1f7a4d}.err{background:#fbe9e7;color:#b3261e}
.scroll{overflow-x:auto}main{overflow-wrap:anywhere}.none,.common{color:var(--muted);font-size:.88rem}a{color:var(--accent)}
@media (max-width:50rem){.layout{display:block}nav{position:static;height:auto;width:auto;border-right:0;border-bottom:1px solid var(--line)}main{padding:1rem}}
`;

/** The reference page for an OpenAPI document built by buildOpenApiDocument. */
export function renderReferencePage(document: Record<string, unknown>): string {
  const paths = document.paths as Record<string, Record<string, Operation>>;
  const components = { ...((document.components as { schemas: Record<string, JsonSchema> }).schemas) };
  knownShapes = components;
  const operations = Object.entries(paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  const http = operations.map(({ path, method, op }) => httpOperation(path, method, op)).join('\n');
  const actions = wsActions(components);
  const events = serverEvents(components);
  const shapes = Object.keys(components)
    .sort()
    .map((name) => `<section class="op" id="schema-${anchor(name)}"><h3>${escape(name)}</h3>${components[name]!.description ? `<p>${escape(String(components[name]!.description))}</p>` : ''}${fields(components[name], 'Any JSON value.')}</section>`)
    .join('\n');
  const info = document.info as { title: string };
  const link = (href: string, label: string) => `<a href="#${href}">${label}</a>`;
  const nav = `<nav aria-label="Contents"><b>${escape(info.title)}</b>
<h2>HTTP</h2>${operations.map(({ path, method, op }) => link(`http-${op.operationId}`, `${method.toUpperCase()} ${escape(path.replace('/api/provider-customer-chat', '') || path)}`)).join('')}
<h2>WebSocket actions</h2>${ROUTE_KEYS.map((key) => link(`ws-${key}`, escape(WS_ACTIONS[key].event))).join('')}
<h2>Server events</h2>${SERVER_EVENTS.map((event) => link(`event-${event}`, escape(event))).join('')}
<h2>Reference</h2>${link('errors', 'Errors')}${Object.keys(components).sort().map((name) => link(`schema-${anchor(name)}`, escape(name))).join('')}</nav>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,"><title>${escape(info.title)} API reference</title><style>${STYLE}</style></head>
<body><div class="layout">${nav}<main>
<h1>${escape(info.title)} API reference</h1>
<p>Real-time chat between car-wash providers and their customers. Call the HTTP routes with <code>Authorization: Bearer &lt;JWT&gt;</code>; open the WebSocket with <code>?token=&lt;JWT&gt;</code> and send frames <code>{"action", "data", "requestId?"}</code>, where <code>action</code> is the event name or the route key. The machine-readable document: <a href="/api/docs/openapi.json">openapi.json</a>.</p>
<h2 id="http">HTTP routes</h2>${http}
<h2 id="ws">WebSocket actions</h2>${actions}
<h2 id="events">Server events</h2><p>Frames the server sends: <code>{"event", "data", "requestId?"}</code>.</p>${events}
${errorsSection()}
<h2 id="shapes">Shared shapes</h2>${shapes}
</main></div></body></html>`;
}
