/**
 * The operator tools' acceptance flow, run by hand against the local stack (not part of `npm test`): a
 * consumer group is down long enough to kill N messages (DEAD, UNCONSUMED). A group that comes back
 * consumes the broker's backlog, and late acks finish most DEAD messages by themselves; so that the
 * redrive has all N to do, the topic is also deleted and recreated meanwhile (the runbook "a topic was
 * deleted": the broker's copies are gone). The operator sees them grouped, dry-runs, brings the
 * group back, redrives at a limited rate, and audits.
 * Round 1 goes through the console in headless Chromium (screenshots), round 2 through `rmsg`.
 *
 *   RMSG_DATABASE_URL=... npx tsx scripts/operator-flow.ts [--messages 200] [--rate 25] [--shots DIR]
 *
 * Prints one line per step with its duration, and a JSON summary at the end.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { createApi } from '../src/api/app.js';
import { ReliableMessageClient } from '../src/client/index.js';
import { loadConfig } from '../src/config.js';
import { ReliableConsumer } from '../src/consumer/index.js';
import { createPrisma } from '../src/db/prisma.js';
import { logger } from '../src/logger.js';
import { remotingCall } from '../src/rocketmq/remoting.js';
import { ensureTopic } from '../src/rocketmq/topics.js';
import { connectTemporalClient } from '../src/temporal/connection.js';
import { createServiceWorker } from '../src/worker/service-worker.js';
import { bundleWorkflows } from '../src/worker/workflow-bundle.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '200' },
    rate: { type: 'string', default: '25' },
    shots: { type: 'string', default: '/work/helpers/screenshots' },
    port: { type: 'string', default: '18414' },
  },
});
/** RocketMQ remoting request codes (mqadmin deleteTopic sends both). */
const DELETE_TOPIC_IN_BROKER = 215;
const DELETE_TOPIC_IN_NAMESRV = 216;
const N = Number(values.messages);
const RATE = Number(values.rate);
const shots = values.shots;
const run = promisify(execFile);
const id = Math.random().toString(36).slice(2, 8);
const TOKEN = 'operator-flow-write-token-0123456789';
const log = logger.child({ flow: id });
log.level = 'warn';

const config = loadConfig(process.env, {
  temporal: { ...loadConfig().temporal, taskQueue: `rmsg-opflow-${id}` },
  timings: { ...loadConfig().timings, resendAfterMs: 1000, resendBackoff: 1, maxResendIntervalMs: 1000, maxSends: 2 },
  api: { ...loadConfig().api, host: '127.0.0.1', port: Number(values.port), writeToken: TOKEN },
  operators: { ...loadConfig().operators, auditSettleMs: 2000, redriveMaxRate: 200 },
});
const url = `http://127.0.0.1:${config.api.port}`;
const timings: Record<string, number> = {};
async function step<T>(name: string, work: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const out = await work();
  timings[name] = Date.now() - t0;
  console.log(`${name.padEnd(44)} ${(timings[name] / 1000).toFixed(2)} s`);
  return out;
}
async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return res.json() as Promise<Record<string, unknown>>;
};
const rmsg = async (...args: string[]) => {
  const { stdout } = await run(process.execPath, ['bin/rmsg.js', ...args], {
    env: { ...process.env, RMSG_API_URL: url, RMSG_API_TOKEN: TOKEN, RMSG_LOG_LEVEL: 'warn' },
    timeout: 600_000,
  });
  return stdout;
};

const prisma = createPrisma(config.databaseUrl, { connectionLimit: 3 });
const temporal = await connectTemporalClient(config.temporal, config.codec);
const worker = await createServiceWorker(config, log, { workflowBundle: await bundleWorkflows() });
void worker.run();
const app = createApi({ config, prisma, temporal, log });
await app.listen({ host: '127.0.0.1', port: config.api.port });
const producer = await ReliableMessageClient.connect({
  temporal: config.temporal,
  taskQueue: config.temporal.taskQueue,
  producerGroup: `order-service-${id}`,
  log,
});
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page: Page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
mkdirSync(shots, { recursive: true });
const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

let consumed = 0;
const consumers: ReliableConsumer[] = [];
const consumer = (group: string, topic: string) =>
  ReliableConsumer.start({
    group,
    topic,
    handler: async () => {
      consumed += 1;
    },
    rocketmq: config.rocketmq,
    temporal: config.temporal,
    serviceTaskQueue: config.temporal.taskQueue,
    retryDelayMs: 1000,
    invisibleDurationMs: 10_000,
    concurrency: 16,
    log,
  }).then((c) => {
    consumers.push(c);
    return c;
  });

const summary: Record<string, unknown> = { messages: N, rate: RATE, taskQueue: config.temporal.taskQueue };
try {
  for (const round of ['console', 'cli'] as const) {
    const topic = `opflow-${round}-${id}`;
    const group = `stock-${round}-${id}`;
    await ensureTopic(config.rocketmq, topic, 'NORMAL');
    await producer.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: group });
    const since = new Date().toISOString();
    const keys = Array.from({ length: N }, (_, i) => `order-${round}-${id}-${String(i).padStart(4, '0')}`);
    await step(`${round}: send ${N} messages`, async () => {
      for (let i = 0; i < keys.length; i += 20)
        await Promise.all(
          keys.slice(i, i + 20).map((key) => producer.send({ key, topic, body: `{"order":"${key}"}` })),
        );
    });
    const count = (status: 'DEAD' | 'FINISHED') => prisma.message.count({ where: { key: { in: keys }, status } });
    await step(`${round}: until all ${N} are DEAD`, () => until('DEAD', async () => (await count('DEAD')) === N));
    await step(`${round}: delete and recreate the topic`, async () => {
      await remotingCall(config.rocketmq.brokerAddr, DELETE_TOPIC_IN_BROKER, { topic });
      await remotingCall(config.rocketmq.namesrv, DELETE_TOPIC_IN_NAMESRV, { topic });
      await ensureTopic(config.rocketmq, topic, 'NORMAL');
    });
    let redriveId: string;
    if (round === 'console') {
      await step('console: sign in, open DEAD triage', async () => {
        await page.goto(`${url}/console`);
        await page.fill('#token', TOKEN);
        await page.click('#token-form button');
        await page.waitForSelector('[data-testid="access"]:not(:empty)');
        await page.goto(`${url}/console#/dead`);
        await page.locator('[data-testid="dead-group"]', { hasText: group }).waitFor();
      });
      const groupRow = page.locator('[data-testid="dead-group"]', { hasText: group });
      summary.consoleGroup = (await groupRow.allTextContents())[0];
      await shot('flow-1-dead-triage');
      await step('console: dry run (dialog)', async () => {
        await groupRow.locator('button[data-action="redrive-group"]').click();
        await page.waitForSelector('#confirm-dialog[open] [data-testid="dry-run"]');
      });
      summary.consoleDryRun = await page.textContent('[data-testid="dry-run"]');
      await page.fill('#redrive-rate', String(RATE));
      await page.fill('#redrive-by', 'operator-flow');
      await shot('flow-2-dry-run');
      await step('console: bring the consumer group back', () => consumer(group, topic));
      await step(`console: redrive at ${RATE}/s until COMPLETED`, async () => {
        await page.click('#confirm-ok');
        await page.waitForSelector('[data-testid="redrives"] tbody tr:first-child[data-status="COMPLETED"]', {
          timeout: 600_000,
        });
      });
      await shot('flow-3-redrives');
      redriveId = String(await page.textContent('[data-testid="redrives"] tbody tr:first-child td'));
    } else {
      summary.cliTriage = await step('cli: rmsg triage', () => rmsg('triage', '--topic', topic));
      summary.cliDryRun = await step('cli: rmsg redrive --dry-run', () =>
        rmsg('redrive', '--reason', 'UNCONSUMED', '--topic', topic, '--consumer-group', group, '--dry-run'),
      );
      await step('cli: bring the consumer group back', () => consumer(group, topic));
      const out = await step(`cli: rmsg redrive --rate ${RATE} (waits)`, () =>
        rmsg(
          'redrive',
          '--reason',
          'UNCONSUMED',
          '--topic',
          topic,
          '--consumer-group',
          group,
          '--rate',
          String(RATE),
          '--by',
          'operator-flow',
        ),
      );
      const lines = out.trim().split('\n');
      summary.cliRedriveProgress = [lines[0], `... ${lines.length - 2} more progress lines ...`, lines.at(-1)];
      redriveId = /redrive (rd-\S+)/.exec(lines.at(-1) ?? '')?.[1] ?? '';
    }
    summary[`${round}Redrive`] = await api('GET', `/v1/redrives/${redriveId}`);
    await step(`${round}: until all ${N} are FINISHED`, () =>
      until('FINISHED', async () => (await count('FINISHED')) === N),
    );
    // Past the audit's settle time, so the last writes are in.
    await new Promise((r) => setTimeout(r, config.operators.auditSettleMs));
    if (round === 'console') {
      await step('console: run audit (confirmed)', async () => {
        await page.goto(`${url}/console#/audits`);
        await page.click('button:text("Run audit")');
        await page.click('#confirm-ok');
        await page.waitForSelector('#confirm-dialog', { state: 'hidden', timeout: 120_000 });
      });
      await shot('flow-4-audit');
      summary.consoleAudit = ((await api('GET', '/v1/audits?limit=1')) as unknown as unknown[])[0];
      await page.goto(`${url}/console#/overview`);
      await page.waitForSelector('[data-testid="chart"]');
      await shot('flow-5-overview');
    } else {
      summary.cliAudit = await step('cli: rmsg audit', () => rmsg('audit', '--from', since));
    }
    summary[`${round}Consumed`] = consumed;
  }
} finally {
  summary.timings = timings;
  console.log(JSON.stringify(summary, null, 2));
  await browser.close();
  for (const c of consumers) await c.stop().catch(() => undefined);
  await producer.close();
  await app.close();
  await worker.shutdown();
  await temporal.connection.close();
  await prisma.$disconnect();
}
process.exit(0);
