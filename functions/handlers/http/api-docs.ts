/**
 * GET /api/docs: a self-contained page that lists every operation of the OpenAPI document (no
 * external assets, so it works offline). GET /api/docs/openapi.json, or /api/docs with
 * `Accept: application/json`: the document itself.
 */
import { publicHttpHandler, json } from '#handlers/shared/http';
import { buildOpenApiDocument } from '#handlers/shared/openapi';

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

interface OperationDoc {
  operationId: string;
  summary: string;
  security?: unknown[];
  parameters: { name: string; in: string; required: boolean; schema: unknown }[];
  requestBody?: { content: { 'application/json': { schema: unknown } } };
  responses: Record<string, { description: string; content?: { 'application/json': { schema: unknown } } }>;
}

function renderPage(document: ReturnType<typeof buildOpenApiDocument>): string {
  const paths = document.paths as Record<string, Record<string, OperationDoc>>;
  const sections = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const params = op.parameters.length
        ? `<h4>Parameters</h4><ul>${op.parameters.map((p) => `<li><code>${escape(p.name)}</code> (${p.in}${p.required ? ', required' : ''}) <code>${escape(JSON.stringify(p.schema))}</code></li>`).join('')}</ul>`
        : '';
      const body = op.requestBody ? `<h4>Body</h4><pre>${escape(JSON.stringify(op.requestBody.content['application/json'].schema, null, 2))}</pre>` : '';
      const responses = Object.entries(op.responses)
        .map(([status, r]) => `<li><b>${status}</b> ${escape(r.description)}</li>`)
        .join('');
      return `<section id="${op.operationId}"><h3><span class="m">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3><p>${escape(op.summary)}${op.security ? ' <i>(no token needed)</i>' : ''}</p>${params}${body}<h4>Responses</h4><ul>${responses}</ul></section>`;
    }),
  );
  const info = document.info as { title: string; description: string };
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(info.title)} API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}section{border-top:1px solid #ddd;padding:.5rem 0}.m{background:#235;color:#fff;border-radius:4px;padding:0 .4rem;font-size:.8em}pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:.8em}</style></head>
<body><h1>${escape(info.title)}</h1><p>${escape(info.description)}</p><p>Send <code>Authorization: Bearer &lt;JWT&gt;</code>. Errors are <code>{"error":{"code","message","details"}}</code>. Machine-readable: <a href="/api/docs/openapi.json">openapi.json</a>.</p>${sections.join('\n')}</body></html>`;
}

export const handler = publicHttpHandler({}, async ({ event }) => {
  const host = event.headers?.host;
  const document = buildOpenApiDocument(host ? `${event.headers['x-forwarded-proto'] ?? 'https'}://${host}` : undefined);
  const wantsJson = event.rawPath.endsWith('.json') || (event.headers?.accept ?? '').includes('application/json');
  if (wantsJson) return json(200, document);
  return { statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: renderPage(document) };
});
