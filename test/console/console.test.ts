import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { type ApiHarness, READ_TOKEN, startApiHarness, WRITE_TOKEN } from '../api/harness.js';
import { connectTestClient, eventually } from '../helpers/service.js';
import { freshTopic, uniqueId } from '../helpers/stack.js';

/**
 * The console in a real browser: Debian's Chromium (apt-get install chromium), driven by
 * playwright-core, against the API and the service worker on the real stack. RMSG_SCREENSHOT_DIR
 * keeps a PNG of each page.
 */
const CHROMIUM = process.env.RMSG_CHROMIUM ?? '/usr/bin/chromium';
const shots = process.env.RMSG_SCREENSHOT_DIR;

let api: ApiHarness;
let url: string;
let client: ReliableMessageClient;
let browser: Browser;
let page: Page;
let topic: string;
let group: string;
let deadKeys: string[];

async function shot(name: string) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function signIn(token: string) {
  await page.goto(`${url}/console`);
  await page.fill('#token', token);
  await page.click('#token-form button');
  await page.waitForSelector('[data-testid="access"]:not(:empty)');
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  api = await startApiHarness({ maxSends: 1, resendAfterMs: 300 });
  url = await api.app.listen({ host: '127.0.0.1', port: 0 });
  client = await connectTestClient(api.config, uniqueId('console-producer'));
  topic = await freshTopic('console');
  group = uniqueId('console-down');
  await client.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: group });
  deadKeys = Array.from({ length: 10 }, (_, i) => `${uniqueId('con')}-${i}`);
  await Promise.all(deadKeys.map((key) => client.send({ key, topic, body: '{}' })));
  await eventually(
    async () => (await api.prisma.message.count({ where: { key: { in: deadKeys }, status: 'DEAD' } })) === 10,
    30_000,
    '10 DEAD messages',
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  await client?.close();
  await api?.stop();
});

describe('the operator console (headless Chromium)', () => {
  it('loads the overview with counts and the last-hour chart', async () => {
    await signIn(WRITE_TOKEN);
    expect(await page.textContent('[data-testid="access"]')).toBe('operator (can act)');
    const dead = await page.textContent('[data-testid="status-cards"] [data-status="DEAD"] .n');
    expect(Number(dead)).toBeGreaterThanOrEqual(10);
    expect(await page.locator('[data-testid="chart"] rect').count()).toBe(120); // 60 minutes, 2 bars each
    await shot('overview');
  });

  it('filters the message list', async () => {
    await page.click('nav a[data-page="messages"]');
    await page.waitForSelector('[data-testid="filters"]');
    await page.fill('input[name="topic"]', topic);
    await page.selectOption('select[name="status"]', 'DEAD');
    await page.click('[data-testid="filters"] button[type="submit"]');
    await page.waitForFunction("location.hash.includes('status=DEAD')");
    await page.waitForSelector('[data-testid="message-row"]');
    const statuses = await page.locator('[data-testid="message-row"] .status').allTextContents();
    expect(statuses).toHaveLength(10);
    expect(new Set(statuses)).toEqual(new Set(['DEAD (UNCONSUMED)']));
    await page.selectOption('select[name="status"]', 'FINISHED');
    await page.click('[data-testid="filters"] button[type="submit"]');
    await page.waitForSelector('text=0 shown.');
    await shot('messages');
  });

  it('cancels a message from its detail page, after the confirmation step', async () => {
    const key = uniqueId('con-wait');
    await client.prepare({ key, topic, body: '{"order":1}' });
    await eventually(async () => await api.prisma.message.findUnique({ where: { key } }), 10_000, 'projection');
    await page.goto(`${url}/console#/messages/${encodeURIComponent(key)}`);
    await page.waitForSelector('[data-testid="detail"]');
    expect(await page.isDisabled('button[data-action="resend"]')).toBe(true); // not resendable while unconfirmed
    await page.click('button[data-action="cancel"]');
    await page.waitForSelector('#confirm-dialog[open]');
    await shot('confirm-cancel');
    expect(await api.prisma.message.findUnique({ where: { key } })).toMatchObject({ status: 'WAITING_CONFIRM' });
    await page.click('#confirm-ok');
    await page.waitForSelector('[data-field="status"]:text("CANCELLED")');
    expect((await api.prisma.message.findUnique({ where: { key } }))?.status).toBe('CANCELLED');
    expect(await page.locator('[data-testid="event"]').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('CANCELLED')]),
    );
  });

  it('groups DEAD messages in triage and redrives a group after a dry run', async () => {
    await page.goto(`${url}/console#/dead`);
    const row = page.locator('[data-testid="dead-group"]', { hasText: group });
    await row.waitFor();
    expect(await row.locator('[data-testid="dead-count"]').textContent()).toBe('10');
    await shot('dead-triage');
    await row.locator('button[data-action="redrive-group"]').click();
    await page.waitForSelector('#confirm-dialog[open] [data-testid="dry-run"]');
    expect(await page.textContent('[data-testid="dry-run"]')).toContain('Dry run: 10 messages match');
    await page.fill('#redrive-rate', '50');
    await page.fill('#redrive-by', 'console-test');
    await shot('redrive-dry-run');
    await page.click('#confirm-ok');
    // Newest first: this redrive is the first row; the page refreshes itself while one is RUNNING.
    const newest = '[data-testid="redrives"] tbody tr:first-child';
    await page.waitForSelector(`${newest}[data-status="COMPLETED"]`, { timeout: 30_000 });
    expect(await page.textContent(newest)).toContain('console-test');
    expect(await page.textContent(`${newest} [data-testid="redrive-done"]`)).toBe('10/10');
    await shot('redrives');
    const resent = await api.prisma.messageEvent.count({
      where: { messageKey: { in: deadKeys }, type: 'OPERATOR_RESEND' },
    });
    expect(resent).toBe(10);
  });

  it('a slow page that answers after the operator moved on does not replace the page shown', async () => {
    // The overview's data comes late (as on a loaded server); meanwhile the operator opens a message.
    // Only the first overview request is held back; a later one (a re-render) goes through as usual.
    const answered = new Promise<void>((resolve) => {
      void page.route(
        '**/v1/overview',
        async (route) => {
          await new Promise((r) => setTimeout(r, 1000));
          // The request may be gone by then (a navigation); the page then had nothing to draw late.
          await route.continue().catch(() => undefined);
          setTimeout(resolve, 200);
        },
        { times: 1 },
      );
    });
    await signIn(WRITE_TOKEN);
    await page.goto(`${url}/console#/messages/${encodeURIComponent(deadKeys[1] ?? '')}`);
    await answered;
    expect(await page.getAttribute('main', 'data-page')).toBe('messages');
    expect(await page.isVisible('[data-testid="detail"]')).toBe(true);
  });

  it('with the read token shows everything but offers no action', async () => {
    await signIn(READ_TOKEN);
    expect(await page.textContent('[data-testid="access"]')).toBe('reader (view only)');
    await page.goto(`${url}/console#/messages/${encodeURIComponent(deadKeys[0] ?? '')}`);
    await page.waitForSelector('[data-testid="detail"]');
    for (const action of ['confirm', 'cancel', 'resend'])
      expect(await page.isDisabled(`button[data-action="${action}"]`)).toBe(true);
    await page.goto(`${url}/console#/audits`);
    await page.waitForSelector('h2:text("Audits")');
    expect(await page.isDisabled('button:text("Run audit")')).toBe(true);
  });
});
