import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import mysql, { type Pool, type RowDataPacket } from 'mysql2/promise';
import { ORDER_SCHEMA, ORDER_TOPIC } from '../../examples/order-stock/order-service.js';
import { ReliableMessageClient } from '../../src/client/index.js';
import { ensureLocalMessageTable } from '../../src/client/local-table.js';
import { loadConfig } from '../../src/config.js';
import { logger } from '../../src/logger.js';
import { ensureTopic } from '../../src/rocketmq/topics.js';
import { workflowIdForKey } from '../../workflows/definitions.js';
import { runWithConcurrency } from '../concurrency.js';
import { summarize } from '../stats.js';
import { ChaosChild } from './children.js';
import type { IsolatedStack, StackComponent } from './isolated-stack.js';
import {
  CHAOS_ENV,
  type ChaosOrder,
  type ChildReport,
  ORDERS_DB,
  type OrderCommand,
  type OrderOutcome,
  STOCK_DB,
  STOCK_SCHEMA,
} from './protocol.js';

export const SINGLE_FAULTS = ['producer', 'worker', 'consumer', 'rocketmq', 'mysql', 'temporal'] as const;
export type SingleFault = (typeof SINGLE_FAULTS)[number];
export const FAULTS = ['none', ...SINGLE_FAULTS, 'all'] as const;
export type Fault = (typeof FAULTS)[number];

export interface ChaosOptions {
  stack: IsolatedStack;
  fault: Fault;
  orders: number;
  /** Orders placed per second, steadily. */
  rate: number;
  /** How long each faulty component stays down before it is restarted. */
  outageMs: number;
  /** Shares of the orders, in percent. */
  crashPct: number;
  rollbackPct: number;
  failOncePct: number;
  /** Crashing orders per order process: it commits them without confirming, then dies by SIGKILL. */
  crashBatch: number;
  /** The first fault starts when this share (percent) of the orders has been placed. */
  faultAtPct: number;
  /** Pause between two faults of `all`. */
  faultGapMs: number;
  /** After the last order and the last restart, messages not final by then are stuck. */
  settleTimeoutMs: number;
  logDir: string;
  print: (line: string) => void;
}

export interface FaultRecord {
  fault: SingleFault;
  downAt: string;
  downForMs: number;
  /** From the restart command to the component serving again. */
  restartMs: number;
}

export interface Verdict {
  runId: string;
  fault: Fault;
  params: Omit<ChaosOptions, 'stack' | 'print' | 'logDir'>;
  faults: FaultRecord[];
  attempted: number;
  committed: number;
  rolledBack: number;
  crashed: number;
  /** Orders that never committed though not rolled back on purpose (their service, database or Temporal was down). */
  refused: number;
  /** Why orders failed before commit, as the order service reported it, with counts. */
  failures: Record<string, number>;
  /** Orders whose process never reported an outcome (it died with them in flight). */
  unreported: number;
  effects: number;
  duplicates: number;
  /** Stock moves for an order that never committed. */
  phantoms: number;
  lost: number;
  stuck: number;
  stockMismatches: number;
  /** Finished messages the projection still shows in another state. */
  projectionLag: number;
  unexpectedChildExits: number;
  settleMs: number;
  totalMs: number;
  longestHistory: { events: number; key: string };
  confirmLatencyMs: { p50: number; p99: number; max: number; n: number };
  problems: { key: string; problem: string; status?: string }[];
  ok: boolean;
}

const SKUS = ['apple', 'pear', 'plum'];
const INITIAL_STOCK = 1_000_000;
const FINAL = new Set(['FINISHED', 'CANCELLED']);
/** Workflow statuses that need nothing more: COMPLETED (FINISHED or CANCELLED), NONE (never prepared). */
const SETTLED = new Set(['COMPLETED', 'NONE']);

/**
 * The order/stock scenario at volume on an isolated stack, with faults: real processes (service worker,
 * order service, stock service, the stack's MariaDB/Temporal/RocketMQ) SIGKILLed and restarted. Ends
 * with a verdict computed from the business databases (orders, stock moves) and Temporal.
 */
export async function runChaos(opts: ChaosOptions): Promise<Verdict> {
  const t0 = Date.now();
  const runId = randomUUID().slice(0, 6);
  const print = opts.print;
  mkdirSync(opts.logDir, { recursive: true });
  const stackEnv = await opts.stack.env();
  const taskQueue = `chaos-${runId}`;
  const env = { ...process.env, ...stackEnv, RMSG_TASK_QUEUE: taskQueue };
  const config = loadConfig(env);
  const log = logger.child({ component: 'chaos', runId });
  log.level = 'warn';

  const orders = planOrders(runId, opts);
  const ordersDb = await businessDatabase(config.databaseUrl, ORDERS_DB, ORDER_SCHEMA);
  const stockDb = await businessDatabase(config.databaseUrl, STOCK_DB, STOCK_SCHEMA);
  const serviceDb = mysql.createPool({ uri: config.databaseUrl, connectionLimit: 4, connectTimeout: 3000 });
  await ensureLocalMessageTable(ordersDb);
  for (const sku of SKUS) await stockDb.query('INSERT INTO stock VALUES (?, ?)', [`${runId}-${sku}`, INITIAL_STOCK]);
  await ensureTopic(config.rocketmq, ORDER_TOPIC, 'NORMAL');

  const outcomes = new Map<string, OrderOutcome>();
  const confirmMs: number[] = [];
  const failures: Record<string, number> = {};
  const onReport = (r: ChildReport) => {
    if (r.type !== 'placed') return;
    outcomes.set(r.id, r.outcome);
    if (r.confirmMs !== undefined) confirmMs.push(r.confirmMs);
    if (r.outcome === 'failed') {
      const reason = (r.error ?? 'unknown').replaceAll(r.id, '<key>').slice(0, 160);
      failures[reason] = (failures[reason] ?? 0) + 1;
    }
  };
  const logFile = (name: string) => `${opts.logDir}/${runId}-${name}.log`;
  const childEnv = (extra: Record<string, string>) => ({
    ...env,
    [CHAOS_ENV.runId]: runId,
    RMSG_LOG_LEVEL: 'warn',
    ...extra,
  });
  const worker = new ChaosChild(
    'worker',
    ['src/cli/main.ts', 'worker'],
    { ...env, RMSG_LOG_LEVEL: 'info' },
    logFile('worker'),
    onReport,
    { readyLine: 'service worker running', restartOnExit: true },
  );
  const stock = new ChaosChild('stock', ['bench/chaos/stock-process.ts'], childEnv({}), logFile('stock'), onReport, {
    restartOnExit: true,
  });
  const orderService = new ChaosChild(
    'orders',
    ['bench/chaos/order-process.ts'],
    childEnv({ [CHAOS_ENV.serveCheckBack]: '1' }),
    logFile('orders'),
    onReport,
    { restartOnExit: true },
  );
  let crasher: ChaosChild | undefined;
  const crashers: ChaosChild[] = [];
  const newCrasher = () => {
    const c = new ChaosChild(
      `crasher-${crashers.length + 1}`,
      ['bench/chaos/order-process.ts'],
      childEnv({}),
      logFile('crashers'),
      onReport,
    );
    crashers.push(c);
    void c.startRetrying().catch((err: unknown) => print(`  ! ${c.name} did not start: ${String(err)}`));
    return c;
  };

  const client = await ReliableMessageClient.connect({
    temporal: config.temporal,
    taskQueue,
    producerGroup: 'chaos-observer',
    log,
  });
  const children = [worker, stock, orderService];
  try {
    await worker.start();
    await Promise.all([stock.start(), orderService.start()]);
    if (orders.some((o) => o.kind === 'crash')) crasher = newCrasher();
    print(
      `chaos ${runId}: ${opts.orders} orders at ${opts.rate}/s, fault ${opts.fault}${opts.fault === 'none' ? '' : ` (down ${opts.outageMs / 1000} s)`}; ${opts.crashPct} % crash before confirm, ${opts.rollbackPct} % roll back, ${opts.failOncePct} % fail once in the stock handler; stack offset ${opts.stack.portOffset}`,
    );

    // ------------------------------------------------------------ faults
    const faultRecords: FaultRecord[] = [];
    let crashNextOrder = false;
    let producerCrashed: (() => void) | undefined;
    const placedCount = { n: 0 };
    const inject = async (fault: SingleFault): Promise<() => Promise<void>> => {
      const component: Record<string, StackComponent> = { rocketmq: 'proxy', mysql: 'mariadb', temporal: 'temporal' };
      const target = component[fault];
      if (target) {
        await opts.stack.kill(target);
        return async () => {
          await opts.stack.start(target);
        };
      }
      const child = fault === 'worker' ? worker : fault === 'consumer' ? stock : orderService;
      if (fault === 'producer' && placedCount.n < orders.length) {
        // The next order commits, then the order process dies before its confirm.
        const crashed = new Promise<void>((r) => {
          producerCrashed = r;
        });
        crashNextOrder = true;
        await Promise.race([crashed, sleep(10_000)]);
      }
      await child.kill();
      return () => child.start();
    };
    const faultList: SingleFault[] =
      opts.fault === 'none' ? [] : opts.fault === 'all' ? [...SINGLE_FAULTS] : [opts.fault];
    const runFaults = async () => {
      while (faultList.length > 0 && placedCount.n < Math.floor((orders.length * opts.faultAtPct) / 100))
        await sleep(100);
      for (const [i, fault] of faultList.entries()) {
        if (i > 0) await sleep(opts.faultGapMs);
        const downAt = Date.now();
        print(`  ! ${fault} down (${new Date(downAt).toISOString().slice(11, 19)})`);
        const restart = await inject(fault);
        await sleep(Math.max(0, opts.outageMs - (Date.now() - downAt)));
        const r0 = Date.now();
        await restart();
        const restartMs = Date.now() - r0;
        print(`  ! ${fault} back after ${((Date.now() - downAt) / 1000).toFixed(1)} s (restart ${restartMs} ms)`);
        faultRecords.push({ fault, downAt: new Date(downAt).toISOString(), downForMs: r0 - downAt, restartMs });
      }
    };

    // ------------------------------------------------------------ orders at a steady rate
    const place = async () => {
      const start = Date.now();
      let batch = 0;
      for (const [i, order] of orders.entries()) {
        const due = start + (i * 1000) / opts.rate;
        if (due > Date.now()) await sleep(due - Date.now());
        let command: OrderCommand = { type: 'place', order };
        let target = orderService;
        if (order.kind === 'crash' && crasher) {
          batch++;
          const last = batch === opts.crashBatch || !orders.slice(i + 1).some((o) => o.kind === 'crash');
          command = { type: last ? 'crashAfterCommit' : 'commitOnly', order };
          target = crasher;
          if (last) {
            batch = 0;
            crasher = orders.slice(i + 1).some((o) => o.kind === 'crash') ? newCrasher() : undefined;
          }
        } else if (crashNextOrder && order.kind === 'normal') {
          crashNextOrder = false;
          order.kind = 'crash';
          command = { type: 'crashAfterCommit', order };
          void orderService.exited().then(() => producerCrashed?.());
        }
        target.send(command);
        // The orders after it wait for the process that replaces this one, instead of dying with it.
        if (command.type === 'crashAfterCommit') target.expectExit();
        placedCount.n = i + 1;
      }
    };

    // ------------------------------------------------------------ watch
    const finalAt = new Map<string, number>();
    const projection = new Map<string, string>();
    const longest = { events: 0, key: '' };
    const keys = orders.map((o) => o.id);
    const pollProjection = async () => {
      const [rows] = await serviceDb.query<RowDataPacket[]>('SELECT `key`, status FROM rm_message WHERE `key` IN (?)', [
        keys,
      ]);
      for (const r of rows) {
        projection.set(r.key, r.status);
        if (FINAL.has(r.status) && !finalAt.has(r.key)) finalAt.set(r.key, Date.now());
      }
      return rows.length;
    };
    const sampleHistories = async (which: string[]) => {
      await runWithConcurrency(which.length, 8, async (i) => {
        const key = which[i] as string;
        const d = await client.temporal.workflow
          .getHandle(workflowIdForKey(key))
          .describe()
          .catch(() => undefined);
        if (d && d.historyLength > longest.events) Object.assign(longest, { events: d.historyLength, key });
      });
    };
    let watching = true;
    const watch = async () => {
      let lastSample = 0;
      while (watching) {
        await pollProjection().catch(() => undefined);
        if (Date.now() - lastSample > 15_000) {
          lastSample = Date.now();
          await sampleHistories(keys.filter((k) => !finalAt.has(k))).catch(() => undefined);
          print(
            `  ${((Date.now() - t0) / 1000).toFixed(0)} s: placed ${placedCount.n}/${orders.length}, final ${finalAt.size}, longest history ${longest.events} events`,
          );
        }
        await sleep(1000);
      }
    };

    const watcher = watch();
    await Promise.all([place(), runFaults()]);
    const settleStart = Date.now();
    const deadline = settleStart + opts.settleTimeoutMs;
    // Settled when every key Temporal knows is final (checked in Temporal once the projection agrees).
    let states = new Map<string, string>();
    for (;;) {
      await sleep(2000);
      const committed = await committedIds(ordersDb, keys).catch(() => undefined);
      const projectionDone = committed !== undefined && [...committed].every((k) => finalAt.has(k));
      if (projectionDone || Date.now() > deadline) {
        states = await temporalStates(client, keys);
        if ([...states.values()].every((s) => SETTLED.has(s)) || Date.now() > deadline) break;
      }
    }
    const settleMs = Date.now() - settleStart;
    watching = false;
    await watcher;
    await pollProjection().catch(() => undefined);
    await sampleHistories(keys);

    // ------------------------------------------------------------ verdict
    const committed = await committedIds(ordersDb, keys);
    const [moveRows] = await stockDb.query<RowDataPacket[]>(
      'SELECT order_id, COUNT(*) AS n FROM stock_moves WHERE order_id IN (?) GROUP BY order_id',
      [keys],
    );
    const moves = new Map(moveRows.map((r) => [String(r.order_id), Number(r.n)]));
    const [stockRows] = await stockDb.query<RowDataPacket[]>('SELECT sku, quantity FROM stock WHERE sku LIKE ?', [
      `${runId}-%`,
    ]);
    const problems: Verdict['problems'] = [];
    for (const o of orders) {
      const n = moves.get(o.id) ?? 0;
      const workflow = states.get(o.id);
      const status = `workflow ${workflow}, projection ${projection.get(o.id) ?? 'none'}`;
      if (committed.has(o.id) && n === 0) problems.push({ key: o.id, problem: 'lost', status });
      if (n > 1) problems.push({ key: o.id, problem: `duplicate (${n} stock moves)`, status });
      if (!committed.has(o.id) && n > 0)
        problems.push({ key: o.id, problem: 'phantom (effect without commit)', status });
      if (workflow && !SETTLED.has(workflow)) problems.push({ key: o.id, problem: 'stuck', status });
      if (workflow === 'COMPLETED' && !finalAt.has(o.id))
        problems.push({ key: o.id, problem: 'projection lag', status });
    }
    let stockMismatches = 0;
    for (const r of stockRows) {
      const ordered = orders
        .filter((o) => o.sku === r.sku && committed.has(o.id))
        .reduce((sum, o) => sum + o.quantity, 0);
      if (INITIAL_STOCK - Number(r.quantity) !== ordered) {
        stockMismatches++;
        problems.push({ key: r.sku, problem: `stock ${r.quantity}, expected ${INITIAL_STOCK - ordered}` });
      }
    }
    const count = (p: string) => problems.filter((x) => x.problem.startsWith(p)).length;
    const latency = summarize(confirmMs);
    const { stack: _s, print: _p, logDir: _l, ...params } = opts;
    const verdict: Verdict = {
      runId,
      fault: opts.fault,
      params,
      faults: faultRecords,
      attempted: orders.length,
      committed: committed.size,
      rolledBack: orders.filter((o) => o.kind === 'rollback' && outcomes.get(o.id) === 'rolledBack').length,
      crashed: orders.filter((o) => o.kind === 'crash' && committed.has(o.id)).length,
      refused: orders.filter((o) => !committed.has(o.id) && outcomes.get(o.id) !== 'rolledBack').length,
      failures,
      unreported: orders.filter((o) => !outcomes.has(o.id)).length,
      effects: [...moves.values()].reduce((s, n) => s + n, 0),
      duplicates: count('duplicate'),
      phantoms: count('phantom'),
      lost: count('lost'),
      stuck: count('stuck'),
      stockMismatches,
      projectionLag: count('projection lag'),
      unexpectedChildExits: children.reduce((s, c) => s + c.unexpectedExits, 0),
      settleMs,
      totalMs: Date.now() - t0,
      longestHistory: { ...longest },
      confirmLatencyMs: { p50: latency.p50, p99: latency.p99, max: latency.max, n: confirmMs.length },
      problems,
      ok: false,
    };
    verdict.ok = verdict.lost + verdict.duplicates + verdict.phantoms + verdict.stuck + stockMismatches === 0;
    return verdict;
  } finally {
    await Promise.all([...children, ...crashers].map((c) => c.stop().catch(() => undefined)));
    await client.close().catch(() => undefined);
    await Promise.all([ordersDb.end(), stockDb.end(), serviceDb.end()].map((p) => p.catch(() => undefined)));
  }
}

/** The orders and their injected trouble, spread evenly (every n-th order) so each kind meets every fault. */
function planOrders(runId: string, opts: ChaosOptions): ChaosOrder[] {
  const every = (pct: number) => (pct > 0 ? Math.max(1, Math.round(100 / pct)) : 0);
  const crash = every(opts.crashPct);
  const rollback = every(opts.rollbackPct);
  const failOnce = every(opts.failOncePct);
  return Array.from({ length: opts.orders }, (_, i) => {
    const kind =
      crash && i % crash === 3 % crash ? 'crash' : rollback && i % rollback === 7 % rollback ? 'rollback' : 'normal';
    return {
      id: `chaos-${runId}-${String(i + 1).padStart(5, '0')}`,
      sku: `${runId}-${SKUS[i % SKUS.length]}`,
      quantity: 1 + (i % 3),
      kind,
      failOnce: failOnce > 0 && i % failOnce === 1 % failOnce,
    };
  });
}

async function committedIds(pool: Pool, keys: string[]): Promise<Set<string>> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT id FROM orders WHERE id IN (?)', [keys]);
  return new Set(rows.map((r) => String(r.id)));
}

/**
 * Each key's workflow status in Temporal (COMPLETED once FINISHED or CANCELLED, RUNNING before), NONE
 * without a workflow, UNKNOWN when Temporal does not answer. A describe needs no worker, unlike a query.
 */
async function temporalStates(client: ReliableMessageClient, keys: string[]): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  await runWithConcurrency(keys.length, 16, async (i) => {
    const key = keys[i] as string;
    const status = await client.temporal.workflow
      .getHandle(workflowIdForKey(key))
      .describe()
      .then(
        (d) => d.status.name as string,
        (err: unknown) => ((err as Error).name === 'WorkflowNotFoundError' ? 'NONE' : 'UNKNOWN'),
      );
    states.set(key, status);
  });
  return states;
}

async function businessDatabase(databaseUrl: string, name: string, schema: string[]): Promise<Pool> {
  const url = new URL(databaseUrl);
  const admin = await mysql.createConnection({ uri: new URL('/', url).toString() });
  await admin.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(name)}`);
  await admin.end();
  url.pathname = `/${name}`;
  const pool = mysql.createPool({ uri: url.toString(), connectionLimit: 4, connectTimeout: 3000 });
  for (const ddl of schema) await pool.query(ddl);
  return pool;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
