/**
 * Checks the wire reference (docs/contract.md) against the protocol's own declarations, so the
 * page cannot drift from the code: the route manifest, HTTP_CONTRACT, WS_ACTIONS,
 * SERVER_EVENT_SCHEMAS, CHANGE_DATA_SCHEMAS, the wire objects, ERROR_STATUS and the settings.
 *
 * Conventions the page follows (and this checker enforces):
 *
 * - A thing is documented in a section whose heading's first code span names it: `` ### `POST
 *   /conversations` ``, `` ### `sendMessage` · `chat-send-message` ``, `` ### `chat-new-message` ``,
 *   `` ### `message.created` ``, `` ### `Message` ``. A section runs to the next heading of the
 *   same or a higher level.
 * - HTTP paths are written as in the manifest (`{param}`), without the base path
 *   (`API_BASE_PATH`, named once on the page) for the routes under it, and in full for the others
 *   (`/health`, `/api/docs`).
 * - A field is mentioned when its name appears as an identifier inside code (a code span, or a
 *   fenced block) of its section: `` `deletedAt` `` or `` `{cursor, conversationId}` ``.
 * - An error code is listed on one line with its status; a setting on one line with its default.
 * - Nothing stale: a heading naming a route, a `chat-*` event or a change type names a declared
 *   one, and every `CHAT_*` name is a setting or a local runtime variable.
 */
import { z } from 'zod';
import { API_BASE_PATH, HTTP_ROUTES } from '#config/routes';
import { settingsSchema } from '#config/settings';
import { ERROR_STATUS, type ErrorCode } from '#core/errors';
import { CHANGE_TYPES } from '#core/events';
import {
  CHANGE_DATA_SCHEMAS,
  HTTP_CONTRACT,
  ROUTE_KEYS,
  SERVER_EVENT_SCHEMAS,
  SERVER_EVENTS,
  WS_ACTIONS,
  domainEventSchema,
  wireAttachment,
  wireChange,
  wireConversation,
  wireError,
  wireMessage,
  wirePresence,
  wireReaction,
  type HttpOperation,
} from '#core/protocol';

/** The local runtime's own variables (lib/local/runtime.ts, bin/start.ts): allowed on the page besides the settings. */
export const LOCAL_RUNTIME_VARIABLES = [
  'CHAT_DATA_DIR',
  'CHAT_WS_IDLE_TIMEOUT_MS',
  'CHAT_WS_MAX_CONNECTION_MS',
  'CHAT_FUNCTION_TIMEOUT_MS',
  'CHAT_LOCAL_QUEUE_VISIBILITY_SECONDS',
  'CHAT_LOCAL_VERBOSE',
];

// ─── Schemas ────────────────────────────────────────────────────────────────────────────

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  innerType?: z.ZodType;
  in?: z.ZodType;
  left?: z.ZodType;
  right?: z.ZodType;
  getter?: () => z.ZodType;
}

const defOf = (schema: z.ZodType): SchemaDef => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/**
 * The top-level keys of an object schema, looking through optional, nullable, default, pipes
 * (their input), lazy and refinements; for a union, every option's keys. Anything else has none.
 */
export function topLevelKeys(schema: z.ZodType): string[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      return Object.keys(def.shape ?? {});
    case 'union':
      return [...new Set((def.options ?? []).flatMap(topLevelKeys))];
    case 'intersection':
      return [...new Set([...topLevelKeys(def.left!), ...topLevelKeys(def.right!)])];
    case 'pipe':
      return topLevelKeys(def.in!);
    case 'lazy':
      return topLevelKeys(def.getter!());
    default:
      return def.innerType ? topLevelKeys(def.innerType) : [];
  }
}

/** The id a wire schema is registered under (`.meta({ id })`): `Message`, `Conversation`, … */
function metaId(schema: z.ZodType): string {
  const id = z.globalRegistry.get(schema)?.id;
  if (!id) throw new Error('A wire object without a meta id');
  return id;
}

// ─── The page ───────────────────────────────────────────────────────────────────────────

export interface DocSection {
  level: number;
  /** The heading line, without the #s. */
  title: string;
  /** 1-based line of the heading. */
  line: number;
  /** The heading's code spans, in order. */
  titleCodes: string[];
  /** The heading and everything under it, up to the next heading of the same or a higher level. */
  lines: string[];
  /** Every identifier inside the section's code (code spans and fenced blocks). */
  identifiers: Set<string>;
  /** Every code span of the section, whole. */
  codes: Set<string>;
}

const FENCE = /^\s*(```|~~~)/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const CODE_SPAN = /`([^`\n]+)`/g;
const IDENTIFIER = /[A-Za-z_$][A-Za-z0-9_$]*/g;

const codeSpans = (line: string) => [...line.matchAll(CODE_SPAN)].map((match) => match[1]!.trim());

/**
 * The code of some lines: the code spans of the prose (a span may run over a line break, as in
 * Markdown), and every line inside a fenced block.
 */
function codeOfLines(lines: readonly string[]): { spans: string[]; code: string[] } {
  const spans: string[] = [];
  const code: string[] = [];
  let prose: string[] = [];
  const flushProse = () => {
    for (const match of prose.join('\n').matchAll(/`([^`]+)`/g)) {
      const span = match[1]!.replace(/\s+/g, ' ').trim();
      spans.push(span);
      code.push(span);
    }
    prose = [];
  };
  let fenced = false;
  for (const line of lines) {
    if (FENCE.test(line)) {
      if (!fenced) flushProse();
      fenced = !fenced;
    } else if (fenced) {
      code.push(line);
    } else {
      prose.push(line);
    }
  }
  flushProse();
  return { spans, code };
}

export function parseSections(doc: string): DocSection[] {
  const lines = doc.split(/\r?\n/);
  const headings: { level: number; title: string; index: number }[] = [];
  let fenced = false;
  lines.forEach((line, index) => {
    if (FENCE.test(line)) fenced = !fenced;
    if (fenced) return;
    const match = HEADING.exec(line);
    if (match) headings.push({ level: match[1]!.length, title: match[2]!, index });
  });
  return headings.map((heading, i) => {
    const next = headings.slice(i + 1).find((other) => other.level <= heading.level);
    const body = lines.slice(heading.index, next ? next.index : lines.length);
    const { spans, code } = codeOfLines(body);
    return {
      level: heading.level,
      title: heading.title,
      line: heading.index + 1,
      titleCodes: codeSpans(heading.title),
      lines: body,
      identifiers: new Set(code.flatMap((text) => text.match(IDENTIFIER) ?? [])),
      codes: new Set(spans),
    };
  });
}

/** How a route's path is written on the page: relative to the base path when under it. */
export function docPathOf(path: string): string {
  return path.startsWith(`${API_BASE_PATH}/`) ? path.slice(API_BASE_PATH.length) : path;
}

const numberIn = (text: string, value: string | number) => new RegExp(`(?<![\\w.])${String(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w])`).test(text);

/** The status an error code is answered with, and back. */
const CODE_OF_STATUS = new Map<number, ErrorCode>(Object.entries(ERROR_STATUS).map(([code, status]) => [status, code as ErrorCode]));

// ─── The checker ────────────────────────────────────────────────────────────────────────

/**
 * Every way `doc` falls short of the protocol, one sentence each saying what is missing and
 * where (the section's heading and line). Empty: the page documents everything.
 */
export function checkContractDoc(doc: string, file = 'docs/contract.md'): string[] {
  const sections = parseSections(doc);
  const issues: string[] = [];
  const where = (section: DocSection) => `${file}:${section.line} (${'#'.repeat(section.level)} ${section.title})`;

  /** The one section whose heading's first code span is `name`; reports none or several. */
  function sectionOf(name: string, what: string): DocSection | undefined {
    const found = sections.filter((section) => section.titleCodes[0] === name);
    if (found.length === 0) {
      issues.push(`${file}: no section for ${what}: expected a heading whose first code span is \`${name}\``);
      return undefined;
    }
    if (found.length > 1) {
      issues.push(`${file}: ${what} has ${found.length} sections headed \`${name}\` (lines ${found.map((s) => s.line).join(', ')}); keep one`);
    }
    return found[0];
  }

  function requireFields(section: DocSection, fields: readonly string[], what: string): void {
    for (const field of fields) {
      if (!section.identifiers.has(field)) issues.push(`${where(section)}: does not mention ${what} \`${field}\``);
    }
  }

  // The base path, once.
  if (!doc.includes(`\`${API_BASE_PATH}\``)) issues.push(`${file}: does not name the base path \`${API_BASE_PATH}\` (as a code span)`);

  // HTTP routes: the manifest, with HTTP_CONTRACT's params, query, body, statuses and 2xx bodies.
  for (const route of HTTP_ROUTES) {
    const name = `${route.method} ${docPathOf(route.path)}`;
    const section = sectionOf(name, `HTTP route ${route.name}`);
    if (!section) continue;
    const operation: HttpOperation = HTTP_CONTRACT[route.name];
    if (operation.params) requireFields(section, topLevelKeys(operation.params), `${route.name}'s path parameter`);
    if (operation.query) requireFields(section, topLevelKeys(operation.query), `${route.name}'s query parameter`);
    if (operation.body) requireFields(section, topLevelKeys(operation.body), `${route.name}'s body field`);
    const text = section.lines.join('\n');
    for (const [key, response] of Object.entries(operation.responses)) {
      const status = Number(key);
      if (!numberIn(text, status)) issues.push(`${where(section)}: does not list the status ${status} that HTTP_CONTRACT.${route.name} declares`);
      const code = CODE_OF_STATUS.get(status);
      if (status >= 400 && code && !section.codes.has(code)) issues.push(`${where(section)}: does not name the error code \`${code}\` of its ${status}`);
      if (status < 300 && response.schema) requireFields(section, topLevelKeys(response.schema), `${route.name}'s ${status} body field`);
    }
  }

  // WebSocket actions: route key and event name in the heading; data and ack fields; the reply event.
  for (const key of ROUTE_KEYS) {
    const action = WS_ACTIONS[key];
    const section = sectionOf(key, `WebSocket action ${key}`);
    if (!section) continue;
    if (!section.titleCodes.includes(action.event)) issues.push(`${where(section)}: the heading does not name the event \`${action.event}\` of ${key}`);
    requireFields(section, topLevelKeys(action.data), `${key}'s data field`);
    requireFields(section, topLevelKeys(action.ack), `${key}'s ack field`);
    if ('reply' in action && !section.codes.has(action.reply)) issues.push(`${where(section)}: does not name ${key}'s reply event \`${action.reply}\``);
  }

  // Server events: a section each, mentioning every top-level field of its data.
  for (const event of SERVER_EVENTS) {
    const section = sectionOf(event, `server event ${event}`);
    if (section) requireFields(section, topLevelKeys(SERVER_EVENT_SCHEMAS[event]), `${event}'s data field`);
  }

  // Change types: a section each, mentioning every field of its data.
  for (const type of CHANGE_TYPES) {
    const section = sectionOf(type, `change type ${type}`);
    if (section) requireFields(section, topLevelKeys(CHANGE_DATA_SCHEMAS[type]), `${type}'s data field`);
  }

  // The wire objects, by their schema ids, and the domain event envelope.
  for (const schema of [wireMessage, wireConversation, wirePresence, wireReaction, wireAttachment, wireChange, wireError]) {
    const id = metaId(schema);
    const section = sectionOf(id, `the ${id} object`);
    if (section) requireFields(section, topLevelKeys(schema), `${id} field`);
  }
  const envelope = sectionOf('DomainEvent', 'the domain event envelope');
  if (envelope) requireFields(envelope, topLevelKeys(domainEventSchema), 'DomainEvent field');

  // Nothing documented that no longer exists: a heading naming a route, event or change type must name a declared one.
  const routeNames = new Set(HTTP_ROUTES.map((route) => `${route.method} ${docPathOf(route.path)}`));
  const eventNames = new Set<string>(SERVER_EVENTS);
  const changeTypes = new Set<string>(CHANGE_TYPES);
  for (const section of sections) {
    const name = section.titleCodes[0];
    if (name === undefined) continue;
    if (/^(GET|POST|PUT|PATCH|DELETE) \//.test(name) && !routeNames.has(name)) {
      issues.push(`${where(section)}: documents \`${name}\`, which is not a route of the manifest (functions/config/routes.ts)`);
    } else if (/^chat-/.test(name) && !eventNames.has(name)) {
      issues.push(`${where(section)}: documents \`${name}\`, which is not a server event (SERVER_EVENT_SCHEMAS)`);
    } else if (/^[a-z]+\.[a-z]+$/.test(name) && !changeTypes.has(name)) {
      issues.push(`${where(section)}: documents \`${name}\`, which is not a change type (CHANGE_TYPES)`);
    }
  }

  // Error codes, each on a line with its status.
  const lines = doc.split(/\r?\n/);
  for (const [code, status] of Object.entries(ERROR_STATUS)) {
    if (!lines.some((line) => codeSpans(line).includes(code) && numberIn(line, status))) {
      issues.push(`${file}: no line lists the error code \`${code}\` with its status ${status} (ERROR_STATUS)`);
    }
  }

  // Settings: every CHAT_* setting on a line with its default; no CHAT_* name that does not exist.
  const defaults = settingsSchema.parse({}) as Record<string, unknown>;
  const settingKeys = Object.keys(settingsSchema.shape).filter((key) => key.startsWith('CHAT_'));
  for (const key of settingKeys) {
    const value = defaults[key];
    const line = lines.find((text) => codeSpans(text).includes(key) && (value === undefined || numberIn(text, String(value))));
    if (!line) issues.push(`${file}: no line lists the setting \`${key}\` with its default ${String(value)} (functions/config/settings.ts)`);
  }
  const known = new Set([...settingKeys, ...LOCAL_RUNTIME_VARIABLES]);
  lines.forEach((text, i) => {
    for (const name of text.match(/\bCHAT_[A-Z0-9_]+\b/g) ?? []) {
      if (!known.has(name)) issues.push(`${file}:${i + 1}: names \`${name}\`, which is neither a setting of functions/config/settings.ts nor a local runtime variable`);
    }
  });

  return issues;
}
