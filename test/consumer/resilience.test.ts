import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { type MessageHandler, ReliableConsumer, type ReliableConsumerOptions } from '../../src/consumer/index.js';
import { createPrisma } from '../../src/db/prisma.js';
import { ValidationError } from '../../src/errors.js';
import type { MessageState } from '../../workflows/definitions.js';
import { type BusinessDb, createBusinessDb } from '../helpers/business-db.js';
import {
  connectTestClient,
  eventually,
  startTestService,
  type TestService,
  waitForStatus,
} from '../helpers/service.js';
import { freshTopic, testConfig, uniqueId } from '../helpers/stack.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { LogCapture, latch } from './helpers.js';

/**
 * Consumer SDK under a Temporal outage and hung handlers. The outage is a proxy of this test's own
 * between the consumer and the shared Temporal server; the service worker talks to Temporal directly.
 */
const prisma = createPrisma(testConfig.databaseUrl);
const logs = new LogCapture();
let service: TestService;
let client: ReliableMessageClient;
let shop: BusinessDb;
let proxy: TcpProxy;
const consumers: ReliableConsumer[] = [];

beforeAll(async () => {
  service = await startTestService();
  client = await connectTestClient(service.config);
  proxy = await TcpProxy.start(testConfig.temporal.address);
  shop = await createBusinessDb('consumer_res', [
    'CREATE TABLE effects (id INT AUTO_INCREMENT PRIMARY KEY, message_key VARCHAR(191) NOT NULL, consumer_group VARCHAR(191) NOT NULL)',
  ]);
});

// A test that fails mid-outage must not leave the next one without Temporal.
afterEach(() => proxy.restore());

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
  await proxy?.stop();
  await client?.close();
  await service?.stop();
  await shop?.drop();
  await prisma.$disconnect();
});

function startConsumer(group: string, topic: string, handler: MessageHandler, extra: Partial<ReliableConsumerOptions>) {
  return ReliableConsumer.start({
    group,
    topic,
    handler,
    rocketmq: testConfig.rocketmq,
    temporal: { address: proxy.address, namespace: testConfig.temporal.namespace },
    serviceTaskQueue: service.config.temporal.taskQueue,
    retryDelayMs: 1000,
    invisibleDurationMs: 5000,
    reportReceivedAfterMs: 60_000, // one report per message: its outcome
    log: logs.log,
    ...extra,
  }).then((consumer) => {
    consumers.push(consumer);
    return consumer;
  });
}

async function insertEffect(conn: PoolConnection | undefined, key: string, group: string) {
  await (conn ?? shop.pool).query('INSERT INTO effects (message_key, consumer_group) VALUES (?, ?)', [key, group]);
}

async function effects(key: string, group: string): Promise<number> {
  const [rows] = await shop.pool.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n FROM effects WHERE message_key = ? AND consumer_group = ?',
    [key, group],
  );
  return Number(rows[0]?.n);
}

const withStatus = (key: string, status: MessageState['status'], timeoutMs: number) =>
  waitForStatus(client, key, status, timeoutMs);
const eventTypes = async (key: string) =>
  (await prisma.messageEvent.findMany({ where: { messageKey: key }, orderBy: { seq: 'asc' } })).map((e) => e.type);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Longer than the Temporal client's own gRPC retries (about 20 s), so only the SDK's retries can help. */
const OUTAGE_MS = 25_000;

describe('ReliableConsumer: reports survive a Temporal outage', () => {
  it('a consumed report made while Temporal is unreachable arrives after it is back: no resend, the handler runs once', async () => {
    const topic = await freshTopic('res');
    const group = uniqueId('stock');
    let calls = 0;
    let restoredAt = Number.POSITIVE_INFINITY;
    await startConsumer(
      group,
      topic,
      async (m) => {
        calls += 1;
        await insertEffect(undefined, m.key, group); // no idempotency table: a second run is a second effect
        if (calls === 1) {
          await proxy.cut();
          setTimeout(() => {
            void proxy.restore().then(() => {
              restoredAt = Date.now();
            });
          }, OUTAGE_MS);
        }
      },
      {},
    );
    const key = uniqueId('order');
    // The service resends well after the outage ends: only a lost report would bring the message back.
    await client.send({ key, topic, body: 'x', timings: { resendAfterMs: OUTAGE_MS + 15_000, maxSends: 3 } });
    const s = await withStatus(key, 'FINISHED', OUTAGE_MS + 30_000);
    const lagMs = Date.now() - restoredAt;
    console.info(`consumed report reached the service ${lagMs} ms after a ${OUTAGE_MS} ms Temporal outage ended`);
    // The outbox's backoff and the client's reconnects are capped at 5 s each.
    expect(lagMs).toBeLessThan(12_000);
    expect(calls).toBe(1);
    expect(await effects(key, group)).toBe(1);
    expect(s.deliveries[0]).toMatchObject({ status: 'CONSUMED', sendCount: 1 });
    expect(await eventTypes(key)).not.toContain('RESENT');
    // The outage is logged once, not once per retry, and so is its end.
    expect(logs.forGroup(group, 'reports to the service are failing; keeping them and retrying')).toHaveLength(1);
    expect(logs.forGroup(group, 'reports to the service are delivered again')).toHaveLength(1);
  }, 90_000);

  it('a report still pending at stop() is kept in the idempotency table: the next consumer of the group sends it', async () => {
    const topic = await freshTopic('res');
    const group = uniqueId('stock');
    const first = await startConsumer(
      group,
      topic,
      async (m, ctx) => {
        await insertEffect(ctx.conn, m.key, group);
        await proxy.cut();
      },
      { idempotency: { pool: shop.pool } },
    );
    const key = uniqueId('order');
    // No resend and no consumer check-back within the test: only the kept report can finish it.
    await client.send({ key, topic, body: 'x', timings: { resendAfterMs: 120_000 } });
    await eventually(async () => (await effects(key, group)) === 1, 15_000, 'the effect');
    await first.stop({ deadlineMs: 3000 });
    consumers.splice(consumers.indexOf(first), 1);
    expect(logs.forGroup(group, 'reports left pending at stop; kept in the idempotency table')).toHaveLength(1);
    expect((await client.get(key)).status).toBe('SENDING');

    await proxy.restore();
    let calls = 0;
    await startConsumer(
      group,
      topic,
      async () => {
        calls += 1;
      },
      { idempotency: { pool: shop.pool } },
    );
    const s = await withStatus(key, 'FINISHED', 20_000);
    expect(s.deliveries[0]).toMatchObject({ status: 'CONSUMED', sendCount: 1 });
    expect(calls).toBe(0);
    expect(await effects(key, group)).toBe(1);
    const types = await eventTypes(key);
    expect(types).not.toContain('RESENT');
    expect(types).not.toContain('CONSUMER_CHECK_BACK');
  }, 60_000);
});

describe('ReliableConsumer: hung handlers', () => {
  it('a handler past handlerTimeoutMs is aborted, its transaction rolled back, and the message retried', async () => {
    const topic = await freshTopic('res');
    const group = uniqueId('stock');
    const signals: AbortSignal[] = [];
    let hungConnection = 0;
    await startConsumer(
      group,
      topic,
      async (m, ctx) => {
        signals.push(ctx.signal);
        if (signals.length === 1 && ctx.conn) {
          const [rows] = await ctx.conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
          hungConnection = Number(rows[0]?.id);
        }
        await insertEffect(ctx.conn, m.key, group);
        // The first run hangs (say on a remote call that never answers) and ignores its signal.
        if (signals.length === 1) await new Promise(() => undefined);
      },
      { idempotency: { pool: shop.pool }, handlerTimeoutMs: 1500 },
    );
    const key = uniqueId('order');
    await client.send({ key, topic, body: 'x', timings: { resendAfterMs: 60_000 } });
    const s = await withStatus(key, 'FINISHED', 20_000);
    expect(signals).toHaveLength(2);
    expect(signals[0]?.aborted).toBe(true);
    expect(String(signals[0]?.reason)).toMatch(/handler timed out after 1500 ms/);
    expect(signals[1]?.aborted).toBe(false);
    expect(await effects(key, group)).toBe(1); // the hung run's insert was rolled back
    // ... and its transaction is not merely left open: the server no longer has its connection.
    const [open] = await shop.pool.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?',
      [hungConnection],
    );
    expect(hungConnection).toBeGreaterThan(0);
    expect(Number(open[0]?.n)).toBe(0);
    expect(s.deliveries[0]).toMatchObject({ status: 'CONSUMED', sendCount: 1 });
    const failed = await prisma.messageEvent.findFirst({ where: { messageKey: key, type: 'CONSUME_FAILED' } });
    expect(failed?.detail).toMatchObject({ error: expect.stringMatching(/handler timed out after 1500 ms/) });
  }, 40_000);

  it('stop() returns by its deadline with a hung handler; the unfinished message comes back to the group', async () => {
    const topic = await freshTopic('res');
    const group = uniqueId('stock');
    const hang = latch();
    let started = false;
    const consumer = await startConsumer(
      group,
      topic,
      async (m, ctx) => {
        started = true;
        await insertEffect(ctx.conn, m.key, group);
        await hang.promise;
      },
      // Every handler slot is taken: the receive loop itself waits for the hung handler.
      { idempotency: { pool: shop.pool }, concurrency: 1 },
    );
    const key = uniqueId('order');
    await client.send({ key, topic, body: 'x', timings: { resendAfterMs: 60_000 } });
    await eventually(async () => started, 15_000, 'the handler to start');
    const t0 = Date.now();
    const outcome = await Promise.race([
      consumer.stop({ deadlineMs: 2000 }).then(() => 'stopped'),
      sleep(15_000).then(() => 'hung'),
    ]);
    hang.release(); // lets an old consumer finish, so the rest of the suite is not held up
    expect(outcome).toBe('stopped');
    expect(Date.now() - t0).toBeLessThan(6000);
    consumers.splice(consumers.indexOf(consumer), 1);
    expect(logs.forGroup(group, 'stop deadline reached; aborting handlers still running')).toHaveLength(1);

    await startConsumer(group, topic, async (m, ctx) => insertEffect(ctx.conn, m.key, group), {
      idempotency: { pool: shop.pool },
    });
    await withStatus(key, 'FINISHED', 20_000);
    expect(await effects(key, group)).toBe(1);
  }, 60_000);
});

describe('ReliableConsumer options', () => {
  it('are validated before connecting to anything, with a ValidationError naming the field', async () => {
    const base = { group: 'g', topic: 't', handler: async () => undefined };
    const invalid: [Partial<ReliableConsumerOptions>, string, RegExp][] = [
      [{ group: '' }, 'group', /must not be empty/],
      [{ tags: ['a || b'] }, 'tags.0', /one tag each/],
      [{ concurrency: 0 }, 'concurrency', /positive integer/],
      [{ handlerTimeoutMs: -1 }, 'handlerTimeoutMs', /positive/],
      [{ idempotency: { pool: shop.pool, retentionMs: 0 } }, 'idempotency.retentionMs', /positive/],
      [{ handler: 'no' as never }, 'handler', /function/],
      [{ maxPendingReports: 0 }, 'maxPendingReports', /positive integer/],
    ];
    for (const [bad, field, rule] of invalid) {
      const err = await ReliableConsumer.start({ ...base, ...bad }).catch((e: unknown) => e);
      expect(err, field).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
      expect((err as ValidationError).message).toMatch(rule);
    }
  });
});
