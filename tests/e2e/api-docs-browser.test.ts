/**
 * The API reference page as a mobile developer reads it: GET /api/docs from the local runtime,
 * opened in a real headless Chromium (driven by playwright-core). Every HTTP route, WebSocket
 * action and server event has its section, with the fields of its requests, responses, data and
 * acks as tables and its error codes; the links work, nothing is fetched from anywhere else (it
 * reads offline), and it fits a phone's screen.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`); without it the test fails and says so.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '#core/errors';
import { HTTP_CONTRACT, ROUTE_KEYS, SERVER_EVENTS, SERVER_EVENT_SCHEMAS, WS_ACTIONS, WS_ACTION_ERRORS } from '#core/protocol';
import { HTTP_ROUTES } from '#config/routes';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let runtime: TestRuntime;
let userDataDir: string;
let context: BrowserContext;
let page: Page;
const foreignRequests: string[] = [];
const consoleErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`The API reference browser test needs Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\``);
  }
  runtime = await startTestRuntime();
  userDataDir = await mkdtemp(path.join(tmpdir(), 'chat-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  const origin = new URL(runtime.httpUrl).origin;
  page.on('request', (request) => {
    if (!request.url().startsWith(origin)) foreignRequests.push(request.url());
  });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  const response = await page.goto(`${origin}/api/docs`, { waitUntil: 'load' });
  expect(response?.status()).toBe(200);
});

afterAll(async () => {
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  await runtime?.stop();
});

/** The text of the first column of every field table in a section. */
const fieldNames = (sectionId: string) =>
  page.locator(`[id="${sectionId}"] table.fields tbody tr td:first-child`).allInnerTexts();

/** The top-level keys of a zod object schema. */
const keysOf = (schema: z.ZodType) => (schema instanceof z.ZodObject ? Object.keys(schema.shape) : []);

describe('GET /api/docs in a browser', () => {
  it('is a titled reference page that loads nothing from elsewhere and logs no errors', async () => {
    await expect(page.title()).resolves.toMatch(/API reference/);
    await expect(page.locator('h1').innerText()).resolves.toMatch(/API reference/);
    expect(foreignRequests).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  it('has a section for every HTTP route with its parameters, body and response fields', async () => {
    for (const route of HTTP_ROUTES) {
      const section = page.locator(`[id="http-${route.name}"]`);
      await expect(section.isVisible(), route.name).resolves.toBe(true);
      const heading = await section.locator('h3').innerText();
      expect(heading).toContain(route.method);
      expect(heading).toContain(route.path);
      const names = await fieldNames(`http-${route.name}`);
      const operation = HTTP_CONTRACT[route.name] as { params?: z.ZodType; query?: z.ZodType; body?: z.ZodType };
      for (const schema of [operation.params, operation.query, operation.body]) {
        for (const key of schema ? keysOf(schema) : []) expect(names, `${route.name}: ${key}`).toContain(key);
      }
    }
    // A body reads as a table of fields, and the send's response names the Message it answers.
    const send = page.locator('[id="http-sendMessage"]');
    const contentRow = send.locator('table.fields tr', { hasText: 'clientMessageId' }).first();
    await expect(contentRow.innerText()).resolves.toMatch(/string or null\s+no\s+1–128 characters/);
    await expect(send.locator('a[href="#schema-message"]').count()).resolves.toBeGreaterThan(0);
  });

  it("lists each route's own error statuses, and the ones every route shares once", async () => {
    const send = await page.locator('[id="http-sendMessage"]').innerText();
    for (const status of ['400', '403', '404', '409', '413', '429']) expect(send).toContain(status);
    expect(send).toMatch(/RATE_LIMITED/);
    expect(send).toMatch(/Also 401, 500, 503/);
    const read = await page.locator('[id="http-markRead"]').innerText();
    expect(read).not.toContain('RATE_LIMITED');
    const errors = await page.locator('#errors').innerText();
    for (const [code, status] of Object.entries(ERROR_STATUS)) expect(errors).toMatch(new RegExp(`${code}\\s+${status}`));
  });

  it('has a section for every WebSocket action with its data, ack and error codes', async () => {
    for (const key of ROUTE_KEYS) {
      const action = WS_ACTIONS[key];
      const section = page.locator(`[id="ws-${key}"]`);
      const text = await section.innerText();
      expect(text, key).toContain(action.event);
      const names = await fieldNames(`ws-${key}`);
      for (const field of keysOf(action.data)) expect(names, `${key}: ${field}`).toContain(field);
      for (const field of keysOf(action.ack)) expect(names, `${key} ack: ${field}`).toContain(field);
      for (const error of WS_ACTION_ERRORS[key]) expect(text, `${key}: ${error.code}`).toContain(error.code);
    }
  });

  it('has a section for every server event with the fields of its data', async () => {
    for (const event of SERVER_EVENTS) {
      const section = page.locator(`[id="event-${event}"]`);
      await expect(section.locator('h3').innerText(), event).resolves.toContain(event);
      const names = await fieldNames(`event-${event}`);
      for (const field of keysOf(SERVER_EVENT_SCHEMAS[event])) expect(names, `${event}: ${field}`).toContain(field);
    }
  });

  it('shows no raw JSON Schema and no meaningless integer bounds', async () => {
    const text = await page.locator('main').innerText();
    expect(text).not.toMatch(/"type"\s*:/);
    expect(text).not.toMatch(/\$ref|anyOf|9007199254740991/);
  });

  it('every link inside the page leads to a section, and the contents take the reader there', async () => {
    const targets = await page.locator('a[href^="#"]').evaluateAll((links) => links.map((a) => a.getAttribute('href')!.slice(1)));
    expect(targets.length).toBeGreaterThan(HTTP_ROUTES.length + ROUTE_KEYS.length + SERVER_EVENTS.length);
    const missing = await page.evaluate(`${JSON.stringify([...new Set(targets)])}.filter((id) => !document.getElementById(id))`);
    expect(missing).toEqual([]);
    await page.locator('nav a', { hasText: 'chat-send-message' }).click();
    await expect(page.evaluate('location.hash')).resolves.toBe('#ws-sendMessage');
    await expect(page.locator('[id="ws-sendMessage"]').isVisible()).resolves.toBe(true);
    const top = await page.locator('[id="ws-sendMessage"]').evaluate((element) => element.getBoundingClientRect().top);
    expect(Math.abs(top)).toBeLessThan(50);
  });

  it("fits a phone's screen without scrolling sideways", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
  });
});
