/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route manifest and the HTTP
 * contract (functions/core/protocol/http.ts): the same zod schemas that validate requests, and
 * the response schemas the tests validate every answer against, so the document cannot drift
 * from what the API accepts or answers.
 */
import * as z from 'zod';
import { HTTP_ROUTES } from '#config/routes';
import { HTTP_CONTRACT, type HttpOperation } from '#core/protocol';

type JsonSchema = Record<string, unknown>;

/** Converts a zod schema to JSON Schema, moving its named definitions into `components` and pointing refs there. */
export function toSchema(schema: z.ZodType, components: Record<string, JsonSchema>, io: 'input' | 'output'): JsonSchema {
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
    const operation: HttpOperation = HTTP_CONTRACT[route.name];
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(operation.responses)) {
      responses[status] = response.schema
        ? { description: response.description, content: { 'application/json': { schema: toSchema(response.schema, components, 'output') } } }
        : { description: response.description };
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
        'Real-time chat between car-wash providers and customers. REST here; the WebSocket protocol (chat-* actions and events, declared in functions/core/protocol) is described in the project README and docs/protocol.md.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ bearer: [] }],
    paths,
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  };
}
