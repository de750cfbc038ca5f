/**
 * `npm run bench`: reliable messages end to end on the local stack (a worker process, the producer
 * SDK, idempotent consumers), with the Temporal floor and raw and transactional RocketMQ baselines in
 * the same run.
 *
 *   npm run bench -- --messages 2000 --subscribers 1 --concurrency 64 --mode send --payload-bytes 512
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { ReliableMessageClient } from '../src/client/index.js';
import { loadConfig } from '../src/config.js';
import { ReliableConsumer } from '../src/consumer/index.js';
import { applyMigrations } from '../src/db/migrate.js';
import { logger } from '../src/logger.js';
import { ensureTopic } from '../src/rocketmq/topics.js';
import { workflowIdForKey } from '../workflows/definitions.js';
import { type BaselineResult, runBaseline } from './baselines.js';
import { runWithConcurrency } from './concurrency.js';
import { type FloorResult, runFloor } from './floor/baseline.js';
import { historyCost } from './history-cost.js';
import { idleCpuMsPerSecond, ProcessSampler } from './process-stats.js';
import { summarize, sustainedRate } from './stats.js';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000' },
    subscribers: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '64' },
    rate: { type: 'string', default: '0' },
    mode: { type: 'string', default: 'send' },
    'payload-bytes': { type: 'string', default: '256' },
    sample: { type: 'string', default: '20' },
    baselines: { type: 'boolean', default: true },
    'no-baselines': { type: 'boolean', default: false },
    'timeout-s': { type: 'string', default: '600' },
    /** Service worker processes on the one task queue. */
    workers: { type: 'string', default: '1' },
    /** Write a V8 CPU profile of the worker into this folder (open it in Chrome DevTools). */
    profile: { type: 'string' },
  },
});
const messages = positive('messages');
const subscribers = positive('subscribers');
const concurrency = positive('concurrency');
const rate = Number(args.rate);
const payloadBytes = positive('payload-bytes');
const workerCount = positive('workers');
const mode = args.mode;
if (mode !== 'send' && mode !== 'prepare-confirm') fail('--mode must be send or prepare-confirm');

const log = logger.child({ component: 'bench' });
log.level = process.env.RMSG_LOG_LEVEL ?? 'warn';
const runId = randomUUID().slice(0, 8);
const taskQueue = `rmsg-bench-${runId}`;
const config = loadConfig(process.env, { temporal: { ...loadConfig().temporal, taskQueue } });
const payload = Buffer.alloc(payloadBytes, 'x');
const COMPILED_CLI = 'dist/src/cli/main.js';

const started = new Map<string, number>();
const confirmCalled = new Map<string, number>();
const confirmed = new Map<string, number>();
const handled = new Map<string, number>();
/** Handler runs per key and group: more than one is a duplicate effect (the bench's handlers never fail). */
const handlerRuns = new Map<string, number>();
const finishedAt = new Map<string, number>();

await applyMigrations(config.databaseUrl);
const workers = await Promise.all(Array.from({ length: workerCount }, () => startWorker()));
// The workers are this run's children: they must never outlive the bench, however the bench ends.
process.on('exit', () => {
  for (const w of workers) w.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
/** A failed run must not hang on open connections: report, stop the worker, exit non-zero. */
const orFail = <T>(p: Promise<T>): Promise<T> =>
  p.catch((err: unknown) => {
    console.error('\nbench failed:', err);
    for (const w of workers) w.kill('SIGKILL');
    process.exit(1);
  });
const stackPids = ['temporal', 'proxy', 'namesrv', 'mariadb'].map((name) => ({ name, pid: stackPid(name) }));
// The bench process itself runs the producer and the consumers.

const topic = `bench-rm-${runId}`;
await ensureTopic(config.rocketmq, topic, 'NORMAL');
const businessDb = await businessPool();
const consumers = await Promise.all(
  Array.from({ length: subscribers }, (_, i) =>
    ReliableConsumer.start({
      group: `bench-${runId}-g${i}`,
      topic,
      handler: async (m) => {
        if (!handled.has(m.key)) handled.set(m.key, Date.now());
        handlerRuns.set(m.key, (handlerRuns.get(m.key) ?? 0) + 1);
      },
      temporal: config.temporal,
      rocketmq: config.rocketmq,
      serviceTaskQueue: taskQueue,
      idempotency: { pool: businessDb },
      concurrency: 64,
      log,
    }),
  ),
);
const client = await ReliableMessageClient.connect({
  temporal: config.temporal,
  taskQueue,
  producerGroup: `bench-${runId}`,
});
/** The bench's own reads (which messages finished): plain mysql2, so the observer costs the bench process little. */
const projectionDb = mysql.createPool({ uri: config.databaseUrl, connectionLimit: 1, timezone: 'Z' });

console.error(
  `bench ${runId}: ${messages} messages, ${subscribers} subscriber(s), mode ${mode}, concurrency ${concurrency}${rate ? `, rate ${rate}/s` : ''}, payload ${payloadBytes} B`,
);
const measured = [
  ...workers.map((w, i) => ({ name: workerCount === 1 ? 'worker' : `worker${i + 1}`, pid: w.pid ?? 0 })),
  { name: 'bench', pid: process.pid },
  ...stackPids,
];
const sampler = new ProcessSampler(measured);
// Once the just-started processes have settled (the worker loads its workflow bundle into its thread).
await new Promise((r) => setTimeout(r, 3000));
const idleMsPerSecond = await idleCpuMsPerSecond(measured, 3000);
sampler.begin();
const t0 = Date.now();
const progress = setInterval(() => printProgress(), 500);
const watcher = watchFinished();
await orFail(
  runWithConcurrency(
    messages,
    concurrency,
    async (i) => {
      const key = `bench-${runId}-${i}`;
      started.set(key, Date.now());
      const message = { key, topic, tag: 'bench', body: payload.toString() };
      // confirm->... latencies count from the moment the upstream asks to confirm (send: the send call).
      if (mode === 'send') {
        confirmCalled.set(key, Date.now());
        await client.send(message);
      } else {
        await client.prepare(message);
        confirmCalled.set(key, Date.now());
        await client.confirm(key);
      }
      confirmed.set(key, Date.now());
    },
    rate,
  ),
);
await orFail(watcher);
clearInterval(progress);
printProgress();
process.stderr.write('\n');
const elapsedS = (Date.now() - t0) / 1000;
const usage = sampler.end();

const keys = [...started.keys()];
const sampleKeys = keys
  .filter((k) => finishedAt.has(k))
  .slice(Math.floor(keys.length / 2), Math.floor(keys.length / 2) + Number(args.sample));
const costs = await Promise.all(sampleKeys.map((k) => historyCost(client.temporal, workflowIdForKey(k))));
const mean = (xs: number[]) => Math.round((xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length)) * 100) / 100;
const result = {
  runId,
  at: new Date().toISOString(),
  params: { messages, subscribers, concurrency, rate, mode, payloadBytes, workers: workerCount },
  finished: finishedAt.size,
  duplicateHandlerRuns: [...handlerRuns.values()].reduce((n, runs) => n + Math.max(0, runs - subscribers), 0),
  elapsedS,
  throughput: Math.round(sustainedRate([...finishedAt.values()]) * 10) / 10,
  latencyMs: {
    prepareToConfirmReturned: summarize(keys.map((k) => (confirmed.get(k) ?? 0) - (started.get(k) ?? 0))),
    confirmToHandler: summarize(
      keys.filter((k) => handled.has(k)).map((k) => (handled.get(k) ?? 0) - (confirmCalled.get(k) ?? 0)),
    ),
    confirmToFinished: summarize(
      keys.filter((k) => finishedAt.has(k)).map((k) => (finishedAt.get(k) ?? 0) - (confirmCalled.get(k) ?? 0)),
    ),
  },
  temporal: {
    sampled: costs.length,
    historyEventsPerMessage: mean(costs.map((c) => c.events)),
    actionsPerMessage: mean(costs.map((c) => c.actions)),
    actionBreakdown: costs[0]?.breakdown,
  },
  processes: usage,
  cpuMsPerMessage: cpuMsPer(usage, finishedAt.size),
  wakeupsPerMessage: wakeupsPer(usage, finishedAt.size),
  /** Each process's CPU a second before the run, with nothing to do. */
  idleCpuMsPerSecond: idleMsPerSecond,
  /** Per message, less what each process spends idle over the same time. */
  cpuMsPerMessageBeyondIdle: cpuMsPer(
    usage.map((p) => ({
      ...p,
      cpuSeconds: Math.max(0, p.cpuSeconds - ((idleMsPerSecond[p.name] ?? 0) * elapsedS) / 1000),
    })),
    finishedAt.size,
  ),
  floor: undefined as
    | (FloorResult & {
        cpuMsPerWorkflow: CpuPer;
        wakeupsPerWorkflow: Record<string, number>;
        ratios: Record<string, number>;
      })
    | undefined,
  baselines: [] as (BaselineResult & { cpuMsPerMessage: CpuPer; throughputRatio: number; p99Ratio: number })[],
};

await Promise.all(consumers.map((c) => c.stop()));
await client.close();
await projectionDb.end();
await businessDb.end();
await Promise.all(workers.map(stopWorker));

if (args.baselines && !args['no-baselines']) {
  console.error('baseline: the Temporal floor...');
  const temporalPid = stackPids.find((p) => p.name === 'temporal')?.pid ?? 0;
  const f = await runFloor({ config, runId, messages, concurrency, rate, temporalPid });
  const cpu = cpuMsPer(f.processes, f.workflows);
  const ratio = (ours: number, floor: number) => Math.round((ours / Math.max(0.001, floor)) * 100) / 100;
  result.floor = {
    ...f,
    cpuMsPerWorkflow: cpu,
    wakeupsPerWorkflow: wakeupsPer(f.processes, f.workflows),
    ratios: {
      throughput: ratio(result.throughput, f.throughput),
      temporalCpu: ratio(result.cpuMsPerMessage.temporal ?? 0, cpu.temporal ?? 0),
      historyEvents: ratio(result.temporal.historyEventsPerMessage, f.historyEventsPerWorkflow),
      actions: ratio(result.temporal.actionsPerMessage, f.actionsPerWorkflow),
    },
  };
  for (const kind of ['raw', 'transactional'] as const) {
    console.error(`baseline: ${kind} RocketMQ...`);
    const measured = [{ name: 'bench', pid: process.pid }, ...stackPids.filter((p) => p.name === 'proxy')];
    const b = await runBaseline({
      kind,
      config,
      log,
      runId,
      messages,
      subscribers,
      concurrency,
      rate,
      payload,
      measured,
    });
    result.baselines.push({
      ...b,
      cpuMsPerMessage: cpuMsPer(b.processes, b.messages),
      throughputRatio: Math.round((result.throughput / Math.max(0.001, b.throughput)) * 1000) / 1000,
      p99Ratio: Math.round((result.latencyMs.confirmToHandler.p99 / Math.max(1, b.sendToReceiveMs.p99)) * 100) / 100,
    });
  }
}

printTable();
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL(`./results/${result.at.replace(/[:.]/g, '-')}-${mode}.json`, import.meta.url);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`\nwritten ${file.pathname}`);
if (result.finished < messages) fail(`only ${result.finished} of ${messages} messages finished`);
process.exit(0);

// ---------------------------------------------------------------- helpers

function positive(name: keyof typeof args): number {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer`);
  return n;
}

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(1);
}

type CpuPer = Record<string, number> & { outsideTemporal: number };

/** CPU milliseconds per message of each process, and of all but the Temporal server together. */
function cpuMsPer(usage: { name: string; cpuSeconds: number }[], count: number): CpuPer {
  const per: CpuPer = { outsideTemporal: 0 };
  for (const p of usage) {
    const ms = perMessage(p.cpuSeconds * 1000, count);
    per[p.name] = ms;
    if (p.name !== 'temporal') per.outsideTemporal = Math.round((per.outsideTemporal + ms) * 10) / 10;
  }
  return per;
}

/** Wake-ups (voluntary context switches) per message of each process. */
function wakeupsPer(usage: { name: string; wakeups: number }[], count: number): Record<string, number> {
  return Object.fromEntries(usage.map((p) => [p.name, perMessage(p.wakeups, count)]));
}

/** A run's total per message, to one decimal. */
function perMessage(total: number, count: number): number {
  return Math.round((total / Math.max(1, count)) * 10) / 10;
}

function stackPid(name: string): number {
  const cache = process.env.RMSG_CACHE ?? `${process.env.XDG_CACHE_HOME ?? `${homedir()}/.cache`}/reliable-message`;
  return Number(readFileSync(`${cache}/state/run/${name}.pid`, 'utf8').trim());
}

/**
 * The service worker as its own process, so its CPU and memory are measured like the others'. It is the
 * compiled worker with its prebuilt bundle, as deployed (`npm run bench` builds it first).
 */
async function startWorker(): Promise<ChildProcess> {
  const profile = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [];
  if (!existsSync(COMPILED_CLI)) fail(`${COMPILED_CLI} is missing: npm run build (npm run bench does)`);
  const child = spawn(process.execPath, [...profile, COMPILED_CLI, 'worker'], {
    env: { ...process.env, RMSG_TASK_QUEUE: taskQueue, RMSG_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('service worker running')) resolve();
    });
  });
  child.stdout?.resume();
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function businessPool() {
  const url = new URL(config.databaseUrl);
  url.pathname = '/rmsg_bench_consumer';
  const admin = await mysql.createConnection({ uri: new URL('/', url).toString() });
  await admin.query('CREATE DATABASE IF NOT EXISTS rmsg_bench_consumer');
  await admin.end();
  return mysql.createPool({ uri: url.toString(), connectionLimit: 16 });
}

/**
 * Polls the projection for messages of this run that reached FINISHED, reading only rows written
 * since the last poll (less a margin for transactions that commit out of order).
 */
async function watchFinished(): Promise<void> {
  const deadline = Date.now() + Number(args['timeout-s']) * 1000;
  let since = 0;
  while (finishedAt.size < messages && Date.now() < deadline) {
    const [rows] = await projectionDb.query<mysql.RowDataPacket[]>(
      "SELECT `key`, finished_at, updated_at FROM rm_message WHERE topic = ? AND status = 'FINISHED' AND updated_at >= ?",
      [topic, new Date(since - 2000)],
    );
    for (const r of rows) {
      if (r.finished_at) finishedAt.set(r.key, (r.finished_at as Date).getTime());
      since = Math.max(since, (r.updated_at as Date).getTime());
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function printProgress(): void {
  const width = 30;
  const done = Math.round((finishedAt.size / messages) * width);
  const secs = (Date.now() - t0) / 1000;
  process.stderr.write(
    `\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] sent ${confirmed.size}/${messages} · finished ${finishedAt.size} · ${(finishedAt.size / Math.max(secs, 0.001)).toFixed(1)} msg/s · ${secs.toFixed(0)} s  `,
  );
}

function printTable(): void {
  const l = result.latencyMs;
  const row = (name: string, s: { p50: number; p95: number; p99: number; max: number }) =>
    `  ${name.padEnd(34)} ${[s.p50, s.p95, s.p99, s.max].map((v) => String(Math.round(v)).padStart(7)).join('')}`;
  console.log(`\nreliable-message bench ${runId} (${mode}, ${messages} messages, ${subscribers} subscriber(s))`);
  console.log(
    `  finished ${result.finished}/${messages} in ${elapsedS.toFixed(1)} s; sustained ${result.throughput} msg/s; ${workerCount} worker(s); duplicate handler runs ${result.duplicateHandlerRuns}`,
  );
  console.log(`  latency ms                            p50    p95    p99    max`);
  console.log(row('prepare->confirm returned', l.prepareToConfirmReturned));
  console.log(row('confirm->handler invoked', l.confirmToHandler));
  console.log(row('confirm->FINISHED', l.confirmToFinished));
  console.log(
    `  Temporal per message: ${result.temporal.historyEventsPerMessage} history events, ${result.temporal.actionsPerMessage} billable actions ${JSON.stringify(result.temporal.actionBreakdown)}`,
  );
  for (const p of result.processes)
    console.log(
      `  ${p.name.padEnd(10)} cpu ${p.cpuSeconds.toFixed(1).padStart(6)} s (${String(result.cpuMsPerMessage[p.name]).padStart(5)} ms/msg)  peak rss ${String(p.peakRssMb).padStart(5)} MB  wake-ups ${String(result.wakeupsPerMessage[p.name]).padStart(5)}/msg`,
    );
  console.log(`  cpu outside the Temporal server: ${result.cpuMsPerMessage.outsideTemporal} ms/msg`);
  console.log(`  idle background before the run, cpu ms/s: ${JSON.stringify(result.idleCpuMsPerSecond)}`);
  console.log(`  cpu ms/msg beyond that background: ${JSON.stringify(result.cpuMsPerMessageBeyondIdle)}`);
  const f = result.floor;
  if (f) {
    console.log(
      `  baseline ${f.name}: ${f.throughput} wf/s, ${f.historyEventsPerWorkflow} events, ${f.actionsPerWorkflow} actions; cpu ms/wf ${JSON.stringify(f.cpuMsPerWorkflow)}; wake-ups/wf ${JSON.stringify(f.wakeupsPerWorkflow)}`,
    );
    console.log(`  ours/floor ${JSON.stringify(f.ratios)}`);
  }
  for (const b of result.baselines) {
    console.log(
      `  baseline ${b.name}: ${b.throughput} msg/s, send->receive p50 ${b.sendToReceiveMs.p50} p99 ${b.sendToReceiveMs.p99} ms; ours/baseline throughput ${b.throughputRatio}, p99 ${b.p99Ratio}x; cpu ms/msg ${JSON.stringify(b.cpuMsPerMessage)}`,
    );
  }
}
