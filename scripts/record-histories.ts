/**
 * `npm run histories:record`: drives real runs of every path of the reliable-message workflow
 * against the local stack and writes their histories to test/fixtures/histories/, replacing the
 * ones it wrote before. test/replay/histories.test.ts replays them all against the current workflow
 * code. Re-run this after an intended change of the workflow, once that change is safe (README:
 * "Upgrades").
 *
 * Self-contained: its own worker on its own task queue, its own topic and groups, and timings of
 * milliseconds so that check-backs, deadlines and resends happen in seconds. Subscribers are played
 * by hand (their ack signals), so no run waits on RocketMQ consumer polling.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { ReliableMessageClient } from '../src/client/index.js';
import { confirmMessage } from '../src/client/message-ops.js';
import { type Config, loadConfig } from '../src/config.js';
import { applyMigrations } from '../src/db/migrate.js';
import { createPrisma, type PrismaClient } from '../src/db/prisma.js';
import { logger } from '../src/logger.js';
import { repairMessage } from '../src/message-repair.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { deleteTopic, ensureTopic } from '../src/rocketmq/topics.js';
import { type History, writeHistoryFile } from '../src/temporal/history-files.js';
import { createServiceWorker } from '../src/worker/service-worker.js';
import { bundleWorkflows } from '../src/worker/workflow-bundle.js';
import {
  type Ack,
  ackSignal,
  ackUpdate,
  type CheckBackAnswer,
  type MessageState,
  RELIABLE_MESSAGE_WORKFLOW,
  type ReliableMessageInput,
  STARTER_PROTOCOL,
  workflowIdForKey,
} from '../workflows/definitions.js';

export const HISTORIES_DIR = join(PROJECT_ROOT, 'test', 'fixtures', 'histories');

/** Every path the recorded histories cover; the replay test checks that each one has a file. */
export const SCENARIOS = [
  'send',
  'prepare-confirm',
  'check-back-commit',
  'check-back-rollback',
  'check-back-unknown-then-commit',
  'deadline-dead-then-operator-confirm',
  'resend-to-lagging-group',
  'dead-unconsumed-then-operator-resend',
  'continue-as-new',
  'publish-rejected',
  'no-subscribers',
  'ack-update-finishes',
  'repair',
] as const;
type Scenario = (typeof SCENARIOS)[number];

/**
 * The files this script writes (and replaces): `<scenario>.json`, or `<scenario>.run<N>.json` for a
 * message that continued as new. Other files in the folder (kept histories of older code, exports
 * from production) are left alone, and replayed all the same.
 */
function isRecordedFile(name: string): boolean {
  return SCENARIOS.some((s) => name === `${s}.json` || new RegExp(`^${s}\\.run\\d+\\.json$`).test(name));
}

const STEP_TIMEOUT_MS = 30_000;

interface Stack {
  topic: string;
  /** Subscribes to every tag. */
  groupA: string;
  /** Subscribes to tag `two` only: a message tagged `two` has two subscribers. */
  groupB: string;
  taskQueue: string;
  rocketmq: Config['rocketmq'];
  client: (producerGroup: string) => Promise<ReliableMessageClient>;
  prisma: PrismaClient;
}

/** Paths whose message stays open at the end (DEAD for an operator): their history is taken as it is. */
const OPEN_AT_END: readonly Scenario[] = ['publish-rejected'];

/** Plays a subscriber's part: what the consumer SDK reports. */
function ack(c: ReliableMessageClient, key: string, report: Ack): Promise<void> {
  return c.temporal.workflow.getHandle(workflowIdForKey(key)).signal(ackSignal, report);
}

/** Polls `check` until it gives a value (not false), for at most STEP_TIMEOUT_MS; `last` says where it got to. */
async function waitFor<T>(
  key: string,
  what: string,
  check: () => Promise<T | undefined | false>,
  last: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const found = await check();
    if (found !== undefined && found !== false) return found;
    if (Date.now() > deadline) throw new Error(`${key}: timed out waiting for ${what}${last()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function until(
  c: ReliableMessageClient,
  key: string,
  what: string,
  ok: (s: MessageState) => boolean,
): Promise<MessageState> {
  let s: MessageState | undefined;
  return waitFor(
    key,
    what,
    async () => {
      s = await c.get(key).catch(() => undefined);
      return s && ok(s) && s;
    },
    () => ` (last: ${s?.status ?? 'none'})`,
  );
}

const published = (c: ReliableMessageClient, key: string, sends = 1) =>
  until(c, key, `${sends} publication(s)`, (s) => s.sendCount >= sends);
const status = (c: ReliableMessageClient, key: string, want: MessageState['status']) =>
  until(c, key, want, (s) => s.status === want);

/** The message's publication is consumed by group A (its only subscriber), which finishes it. */
async function consumedByA(stack: Stack, c: ReliableMessageClient, key: string, sends = 1) {
  await published(c, key, sends);
  await ack(c, key, { group: stack.groupA, status: 'CONSUMED', received: true });
  await status(c, key, 'FINISHED');
  return c;
}

/** A producer group with a check-back that gives `answers` in turn (the last one from then on). */
async function producerWithCheckBack(stack: Stack, name: string, answers: CheckBackAnswer[]) {
  const c = await stack.client(`${stack.topic}-${name}`);
  let calls = 0;
  await c.serveCheckBack(
    c.producerGroup,
    async () => answers[Math.min(calls++, answers.length - 1)] as CheckBackAnswer,
  );
  return c;
}

/** Runs one path to its end; returns the message key. */
const RUNS: Record<Scenario, (stack: Stack, key: string) => Promise<ReliableMessageClient>> = {
  async send(stack, key) {
    const c = await stack.client(`${stack.topic}-send`);
    await c.send({ key, topic: stack.topic, tag: 'one', body: 'send' });
    return consumedByA(stack, c, key);
  },
  async 'prepare-confirm'(stack, key) {
    const c = await stack.client(`${stack.topic}-prepare`);
    await c.prepare({
      key,
      topic: stack.topic,
      tag: 'one',
      body: 'prepare-confirm',
      timings: { checkBackAfterMs: 60_000 },
    });
    await status(c, key, 'WAITING_CONFIRM');
    await c.confirm(key);
    await published(c, key);
    await ack(c, key, { group: stack.groupA, status: 'RECEIVED' });
    await until(c, key, 'RECEIVED', (s) => s.deliveries.some((d) => d.status === 'RECEIVED'));
    await ack(c, key, { group: stack.groupA, status: 'CONSUMED' });
    await status(c, key, 'FINISHED');
    return c;
  },
  async 'check-back-commit'(stack, key) {
    const c = await producerWithCheckBack(stack, 'commit', ['COMMIT']);
    await c.prepare({ key, topic: stack.topic, tag: 'one', body: 'commit', timings: { checkBackAfterMs: 300 } });
    return consumedByA(stack, c, key);
  },
  async 'check-back-rollback'(stack, key) {
    const c = await producerWithCheckBack(stack, 'rollback', ['ROLLBACK']);
    await c.prepare({ key, topic: stack.topic, tag: 'one', body: 'rollback', timings: { checkBackAfterMs: 300 } });
    await status(c, key, 'CANCELLED');
    return c;
  },
  async 'check-back-unknown-then-commit'(stack, key) {
    const c = await producerWithCheckBack(stack, 'unknown', ['UNKNOWN', 'COMMIT']);
    const timings = { checkBackAfterMs: 300, checkBackBackoff: 1 };
    await c.prepare({ key, topic: stack.topic, tag: 'one', body: 'unknown-then-commit', timings });
    return consumedByA(stack, c, key);
  },
  async 'deadline-dead-then-operator-confirm'(stack, key) {
    // No check-back served: nobody answers before the deadline.
    const c = await stack.client(`${stack.topic}-deadline`);
    const timings = { checkBackAfterMs: 60_000, confirmDeadlineMs: 800 };
    await c.prepare({ key, topic: stack.topic, tag: 'one', body: 'deadline', timings });
    await until(c, key, 'DEAD(UNCONFIRMED)', (s) => s.status === 'DEAD' && s.deadReason === 'UNCONFIRMED');
    await confirmMessage(c.temporal, key, 'operator');
    return consumedByA(stack, c, key);
  },
  async 'resend-to-lagging-group'(stack, key) {
    const c = await stack.client(`${stack.topic}-lagging`);
    await c.send({ key, topic: stack.topic, tag: 'two', body: 'lagging', timings: { resendAfterMs: 500 } });
    await published(c, key);
    await ack(c, key, { group: stack.groupA, status: 'CONSUMED', received: true });
    const resent = await published(c, key, 2);
    const lagging = resent.deliveries.find((d) => d.group === stack.groupB);
    if (resent.deliveries.find((d) => d.group === stack.groupA)?.sendCount !== 1 || lagging?.sendCount !== 2)
      throw new Error(`${key}: the resend went to other groups than the lagging one`);
    await ack(c, key, { group: stack.groupB, status: 'CONSUMED', received: true });
    await status(c, key, 'FINISHED');
    return c;
  },
  async 'dead-unconsumed-then-operator-resend'(stack, key) {
    const c = await stack.client(`${stack.topic}-unconsumed`);
    await c.send({
      key,
      topic: stack.topic,
      tag: 'one',
      body: 'unconsumed',
      timings: { maxSends: 1, resendAfterMs: 300 },
    });
    await until(c, key, 'DEAD(UNCONSUMED)', (s) => s.status === 'DEAD' && s.deadReason === 'UNCONSUMED');
    await c.resend(key);
    return consumedByA(stack, c, key, 2);
  },
  async 'continue-as-new'(stack, key) {
    // Check-backs answering UNKNOWN grow the history until the (test-only) low limit makes the run
    // continue as new while it waits; the confirm and the publication then happen in the new run.
    const c = await producerWithCheckBack(stack, 'can', ['UNKNOWN']);
    const input: ReliableMessageInput = {
      message: { key, topic: stack.topic, tag: 'one', body: 'continue-as-new', producerGroup: c.producerGroup },
      confirmed: false,
      timings: { checkBackAfterMs: 200, checkBackBackoff: 1, maxCheckBackIntervalMs: 200 },
      maxHistoryEvents: 40,
      protocol: STARTER_PROTOCOL,
    };
    const handle = await c.temporal.workflow.start(RELIABLE_MESSAGE_WORKFLOW, {
      taskQueue: stack.taskQueue,
      workflowId: workflowIdForKey(key),
      args: [input],
    });
    await waitFor(
      key,
      'the run to continue as new',
      async () =>
        (await c.temporal.workflow.getHandle(handle.workflowId).describe()).runId !== handle.firstExecutionRunId,
    );
    await c.confirm(key);
    return consumedByA(stack, c, key);
  },
  async 'publish-rejected'(stack, key) {
    // Its topic is deleted between prepare and confirm: RocketMQ refuses it for good.
    const topic = `${stack.topic}-gone`;
    await ensureTopic(stack.rocketmq, topic, 'NORMAL');
    const c = await stack.client(`${stack.topic}-rejected`);
    await c.prepare({ key, topic, body: 'rejected', timings: { checkBackAfterMs: 60_000 } });
    await status(c, key, 'WAITING_CONFIRM');
    await deleteTopic(stack.rocketmq, topic);
    await c.confirm(key);
    await until(c, key, 'DEAD(REJECTED)', (s) => s.status === 'DEAD' && s.deadReason === 'REJECTED');
    return c;
  },
  async 'ack-update-finishes'(stack, key) {
    // The HTTP API's ack: an update whose change finishes the message in the same workflow task.
    const c = await stack.client(`${stack.topic}-ack-update`);
    await c.send({ key, topic: stack.topic, tag: 'one', body: 'ack-update' });
    await published(c, key);
    await c.temporal.workflow
      .getHandle(workflowIdForKey(key))
      .executeUpdate(ackUpdate, { args: [{ group: stack.groupA, status: 'CONSUMED', received: true }] });
    await status(c, key, 'FINISHED');
    return c;
  },
  async repair(stack, key) {
    // An operator's repair once group A consumed: the fresh run (the one recorded) resends to group B.
    const c = await stack.client(`${stack.topic}-repair`);
    await c.send({ key, topic: stack.topic, tag: 'two', body: 'repair', timings: { resendAfterMs: 60_000 } });
    await published(c, key);
    await ack(c, key, { group: stack.groupA, status: 'CONSUMED', received: true });
    await waitFor(
      key,
      "group A's ack written",
      async () => (await stack.prisma.delivery.count({ where: { messageKey: key, status: 'CONSUMED' } })) > 0,
    );
    await repairMessage({ temporal: c.temporal, prisma: stack.prisma, taskQueue: stack.taskQueue }, key);
    await published(c, key, 2);
    await ack(c, key, { group: stack.groupB, status: 'CONSUMED', received: true });
    await status(c, key, 'FINISHED');
    return c;
  },
  async 'no-subscribers'(stack, key) {
    const topic = `${stack.topic}-nobody`;
    await ensureTopic(stack.rocketmq, topic, 'NORMAL');
    const c = await stack.client(`${stack.topic}-nobody`);
    await c.send({ key, topic, body: 'nobody' });
    await status(c, key, 'FINISHED');
    return c;
  },
};

/** Every run of a workflow ID, oldest first (following continue-as-new back to the first run). */
async function runHistories(client: Client, workflowId: string): Promise<History[]> {
  const runs: History[] = [];
  let runId: string | undefined;
  for (;;) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.unshift(history);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) return runs;
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const log = logger.child({ component: 'record-histories' });
  const id = Math.random().toString(36).slice(2, 10);
  const base = loadConfig();
  const config = loadConfig(process.env, {
    temporal: { ...base.temporal, taskQueue: `rmsg-histories-${id}` },
    timingFloorMs: 1,
  });
  await applyMigrations(config.databaseUrl, { tls: config.databaseTls });
  const topic = `rmsg-histories-${id}`;
  await ensureTopic(config.rocketmq, topic, 'NORMAL');
  const worker = await createServiceWorker(config, log, { workflowBundle: await bundleWorkflows() });
  const prisma = createPrisma(config.databaseUrl, { connectionLimit: 2 });
  const running = worker.run();
  const clients: ReliableMessageClient[] = [];
  const stack: Stack = {
    topic,
    groupA: `${topic}-a`,
    groupB: `${topic}-b`,
    taskQueue: config.temporal.taskQueue,
    rocketmq: config.rocketmq,
    prisma,
    async client(producerGroup) {
      const c = await ReliableMessageClient.connect({
        temporal: config.temporal,
        taskQueue: config.temporal.taskQueue,
        producerGroup,
        log,
      });
      clients.push(c);
      return c;
    },
  };
  try {
    const admin = await stack.client(`${topic}-admin`);
    await admin.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: stack.groupA });
    await admin.register({ kind: 'subscription', topic, tagExpression: 'two', consumerGroup: stack.groupB });
    const finished = await Promise.all(
      SCENARIOS.map(async (scenario) => {
        const key = `${topic}-${scenario}`;
        const c = await RUNS[scenario](stack, key);
        if (!OPEN_AT_END.includes(scenario)) await c.temporal.workflow.getHandle(workflowIdForKey(key)).result();
        return { scenario, runs: await runHistories(c.temporal, workflowIdForKey(key)) };
      }),
    );
    mkdirSync(HISTORIES_DIR, { recursive: true });
    for (const f of readdirSync(HISTORIES_DIR)) if (isRecordedFile(f)) rmSync(join(HISTORIES_DIR, f));
    for (const { scenario, runs } of finished) {
      runs.forEach((history, i) => {
        const name = runs.length === 1 ? `${scenario}.json` : `${scenario}.run${i + 1}.json`;
        writeHistoryFile(join(HISTORIES_DIR, name), history);
      });
    }
    const files = finished.reduce((n, f) => n + f.runs.length, 0);
    log.info({ dir: HISTORIES_DIR, files, ms: Date.now() - started }, 'histories recorded');
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await prisma.$disconnect();
    await worker.shutdown();
    await running;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, 'recording histories failed');
      process.exit(1);
    },
  );
}
