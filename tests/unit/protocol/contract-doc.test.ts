/**
 * docs/contract.md against the protocol's declarations: every route, action, event, change type,
 * wire object, error code and setting must be on the page, with its fields (the conventions are
 * in tests/support/contract-doc.ts). A failure names what is missing and the section it belongs in.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HTTP_ROUTES } from '#config/routes';
import { SERVER_EVENT_SCHEMAS, historyQuery, startConversationBody, wireChange } from '#core/protocol';
import { checkContractDoc, docPathOf, parseSections, topLevelKeys } from '#tests/support/contract-doc';

const DOC_PATH = 'docs/contract.md';
const doc = readFileSync(new URL('../../../docs/contract.md', import.meta.url), 'utf8');

/** The page with every mention of `field` inside the section headed by `heading` renamed. */
function withoutField(text: string, heading: string, field: string): string {
  const section = parseSections(text).find((candidate) => candidate.titleCodes[0] === heading);
  if (!section) throw new Error(`no section ${heading}`);
  const lines = text.split('\n');
  const start = section.line - 1;
  const end = start + section.lines.length;
  const word = new RegExp(`(?<![A-Za-z0-9_$])${field}(?![A-Za-z0-9_$])`, 'g');
  for (let i = start; i < end; i++) lines[i] = lines[i]!.replace(word, 'REMOVED');
  return lines.join('\n');
}

describe('docs/contract.md', () => {
  it('documents every route, action, event, change type, object, error code and setting', () => {
    const issues = checkContractDoc(doc, DOC_PATH);
    expect(issues, `${DOC_PATH} has drifted from the protocol:\n${issues.join('\n')}`).toEqual([]);
  });

  it('never points at a shared contract outside this repository', () => {
    // Spelled in parts so that this check is not itself a reference to that folder.
    expect(doc).not.toContain(['..', 'shared'].join('/'));
  });
});

describe('the contract checker', () => {
  it('reports a server event field that its section no longer mentions, and where', () => {
    expect(topLevelKeys(SERVER_EVENT_SCHEMAS['chat-reaction-updated'])).toContain('emoji');
    const issues = checkContractDoc(withoutField(doc, 'chat-reaction-updated', 'emoji'), DOC_PATH);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^docs\/contract\.md:\d+ \(#+ `chat-reaction-updated`\): does not mention chat-reaction-updated's data field `emoji`$/);
  });

  it('reports a Message field, a missing route and a setting without its default', () => {
    const route = HTTP_ROUTES.find((candidate) => candidate.name === 'sync')!;
    const broken = withoutField(doc, 'Message', 'editedAt')
      .replace(new RegExp(`^(#+ )\`${route.method} ${docPathOf(route.path)}\``, 'm'), '$1`GET /changes`')
      .replace('| `CHAT_EDIT_WINDOW_SECONDS` | 900 |', '| `CHAT_EDIT_WINDOW_SECONDS` | 600 |');
    const issues = checkContractDoc(broken, DOC_PATH).join('\n');
    expect(issues).toContain("(### `Message`): does not mention Message field `editedAt`");
    expect(issues).toContain('no section for HTTP route sync: expected a heading whose first code span is `GET /sync`');
    expect(issues).toMatch(/: documents `GET \/changes`, which is not a route of the manifest/);
    expect(issues).toContain('no line lists the setting `CHAT_EDIT_WINDOW_SECONDS` with its default 900');
  });

  it('looks into unions, optionals, pipes and refinements for the keys', () => {
    expect(topLevelKeys(SERVER_EVENT_SCHEMAS['chat-error'])).toEqual(['code', 'message', 'requestId', 'details']);
    expect(topLevelKeys(wireChange)).toEqual(['cursor', 'conversationId', 'type', 'at', 'data']);
    expect(topLevelKeys(z.union([z.object({ a: z.string() }), z.object({ b: z.string() }).optional()]))).toEqual(['a', 'b']);
    expect(topLevelKeys(startConversationBody)).toEqual(['providerId', 'customerId', 'orderId']);
    expect(topLevelKeys(historyQuery)).toEqual(['page', 'limit', 'after', 'before']);
    expect(topLevelKeys(z.object({ a: z.string() }).transform((value) => value.a))).toEqual(['a']);
  });
});
