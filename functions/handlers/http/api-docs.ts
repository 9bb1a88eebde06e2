/**
 * GET /api/docs: the API reference, a self-contained page (no external assets, so it works
 * offline) with field tables for every HTTP route, WebSocket action and server event.
 * GET /api/docs/openapi.json, or /api/docs with `Accept: application/json`: the document itself.
 */
import { publicHttpHandler, json } from '#handlers/shared/http';
import { buildOpenApiDocument } from '#handlers/shared/openapi';
import { renderReferencePage } from '#handlers/shared/reference-page';

export const handler = publicHttpHandler({}, async ({ event }) => {
  const host = event.headers?.host;
  const document = buildOpenApiDocument(host ? `${event.headers['x-forwarded-proto'] ?? 'https'}://${host}` : undefined);
  const wantsJson = event.rawPath.endsWith('.json') || (event.headers?.accept ?? '').includes('application/json');
  if (wantsJson) return json(200, document);
  return { statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: renderReferencePage(document) };
});
