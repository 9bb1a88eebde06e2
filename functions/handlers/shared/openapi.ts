/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route manifest and the same zod
 * schemas that validate requests, so the document cannot drift from what the API accepts.
 */
import { z } from 'zod';
import { HTTP_ROUTES } from '#config/routes';
import {
  conversationIdParam,
  historyQuery,
  listConversationsQuery,
  sendMessageBody,
  startConversationBody,
  wireConversation,
  wireError,
  wireMessage,
} from '#core/protocol';

type RouteName = (typeof HTTP_ROUTES)[number]['name'];

interface Operation {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  responses: Record<number, { description: string; schema?: z.ZodType }>;
}

const conversationResponse = z.object({ conversation: wireConversation });
const messageResponse = z.object({ message: wireMessage });
const presence = z.object({ userId: z.number().int(), role: z.enum(['customer', 'provider', 'admin']), providerId: z.number().int().optional(), lastSeen: z.iso.datetime() });

const OPERATIONS: Record<RouteName, Operation> = {
  startConversation: {
    body: startConversationBody,
    responses: { 201: { description: 'Created', schema: conversationResponse }, 200: { description: 'The existing ACTIVE conversation', schema: conversationResponse } },
  },
  listConversations: {
    query: listConversationsQuery,
    responses: { 200: { description: "The caller's conversations, newest activity first", schema: z.object({ conversations: z.array(wireConversation), nextCursor: z.string().nullable() }) } },
  },
  getMessages: {
    params: conversationIdParam,
    query: historyQuery,
    responses: {
      200: {
        description: 'A page of messages, ascending by seq',
        schema: z.object({
          messages: z.array(wireMessage),
          pagination: z.object({ page: z.number().int().optional(), limit: z.number().int(), total: z.number().int(), hasMore: z.boolean(), after: z.number().int().optional(), before: z.number().int().optional() }),
        }),
      },
    },
  },
  sendMessage: {
    params: conversationIdParam,
    body: sendMessageBody,
    responses: {
      201: { description: 'Stored and delivered', schema: messageResponse },
      200: { description: 'A repeated clientMessageId: the stored message', schema: messageResponse },
      409: { description: 'CONFLICT: the conversation is not ACTIVE', schema: wireError },
      413: { description: 'PAYLOAD_TOO_LARGE: content longer than CHAT_MAX_CONTENT_LENGTH', schema: wireError },
    },
  },
  markRead: {
    params: conversationIdParam,
    responses: { 200: { description: "Every message from the other side is READ for the caller's side", schema: z.object({ conversationId: z.string(), lastReadSeq: z.number().int(), updated: z.number().int() }) } },
  },
  archiveConversation: {
    params: conversationIdParam,
    responses: { 200: { description: "Archived for the caller's side", schema: conversationResponse } },
  },
  getTyping: {
    params: conversationIdParam,
    responses: {
      200: {
        description: 'Who is typing now',
        schema: z.object({ conversationId: z.string(), typing: z.array(z.object({ userId: z.number().int(), role: z.enum(['customer', 'provider', 'admin']), since: z.iso.datetime() })) }),
      },
    },
  },
  onlineUsers: {
    responses: { 200: { description: 'Online users who share a conversation with the caller', schema: z.object({ users: z.array(presence) }) } },
  },
  health: {
    responses: { 200: { description: 'Postgres and DynamoDB answer', schema: z.object({ status: z.literal('ok') }) }, 503: { description: 'A backing service does not answer' } },
  },
  apiDocs: { responses: { 200: { description: 'A page that renders this document' } } },
  openApiDocument: { responses: { 200: { description: 'This document' } } },
};

const ERROR_RESPONSES: Record<number, string> = {
  400: 'VALIDATION_ERROR',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  429: 'RATE_LIMITED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

type JsonSchema = Record<string, unknown>;

/** Converts a zod schema, moving its named definitions into `components` and pointing refs there. */
function toSchema(schema: z.ZodType, components: Record<string, JsonSchema>, io: 'input' | 'output'): JsonSchema {
  const generated = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  const { $defs, $schema: _ignored, ...rest } = generated as JsonSchema & { $defs?: Record<string, JsonSchema> };
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([key, inner]) => [
          key,
          key === '$ref' && typeof inner === 'string' ? inner.replace('#/$defs/', '#/components/schemas/') : rewrite(inner),
        ]),
      );
    }
    return value;
  };
  for (const [name, definition] of Object.entries($defs ?? {})) components[name] = rewrite(definition) as JsonSchema;
  return rewrite(rest) as JsonSchema;
}

function parameters(schema: z.ZodType | undefined, location: 'path' | 'query', components: Record<string, JsonSchema>) {
  if (!schema) return [];
  const json = toSchema(schema, components, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    schema: property,
  }));
}

/** The OpenAPI 3.1 document for a server URL. */
export function buildOpenApiDocument(serverUrl?: string): Record<string, unknown> {
  const components: Record<string, JsonSchema> = {};
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of HTTP_ROUTES) {
    const operation = OPERATIONS[route.name];
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(operation.responses)) {
      responses[status] = response.schema
        ? { description: response.description, content: { 'application/json': { schema: toSchema(response.schema, components, 'output') } } }
        : { description: response.description };
    }
    if (route.authorized) {
      for (const [status, code] of Object.entries(ERROR_RESPONSES)) {
        responses[status] ??= { description: code, content: { 'application/json': { schema: toSchema(wireError, components, 'output') } } };
      }
    }
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      operationId: route.name,
      summary: route.summary,
      ...(route.authorized ? {} : { security: [] }),
      parameters: [...parameters(operation.params, 'path', components), ...parameters(operation.query, 'query', components)],
      ...(operation.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(operation.body, components, 'input') } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'provider-customer-chat',
      version: '1.0.0',
      description:
        'Real-time chat between car-wash providers and customers. REST here; the WebSocket protocol (chat-* events) is described in the project README.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ bearer: [] }],
    paths,
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  };
}
