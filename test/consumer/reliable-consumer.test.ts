import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import {
  type ConsumedMessage,
  type MessageHandler,
  ReliableConsumer,
  type ReliableConsumerOptions,
} from '../../src/consumer/index.js';
import { createPrisma } from '../../src/db/prisma.js';
import { createRocketmqPublisher } from '../../src/rocketmq/publisher.js';
import { MessageProperty, type MessageState } from '../../workflows/definitions.js';
import { type BusinessDb, createBusinessDb } from '../helpers/business-db.js';
import {
  connectTestClient,
  eventually,
  startTestService,
  type TestService,
  waitForStatus,
} from '../helpers/service.js';
import { freshTopic, testConfig, testLogger, uniqueId } from '../helpers/stack.js';
import { TopicProbe } from '../helpers/topic-probe.js';
import { LogCapture, latch } from './helpers.js';

const prisma = createPrisma(testConfig.databaseUrl);
const logs = new LogCapture();
let service: TestService;
let client: ReliableMessageClient;
let shop: BusinessDb;
const consumers: ReliableConsumer[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  service = await startTestService();
  client = await connectTestClient(service.config);
  shop = await createBusinessDb('consumer', [
    'CREATE TABLE effects (id INT AUTO_INCREMENT PRIMARY KEY, message_key VARCHAR(191) NOT NULL, consumer_group VARCHAR(191) NOT NULL)',
  ]);
});

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
  await Promise.all(cleanups.map((c) => c()));
  await client?.close();
  await service?.stop();
  await shop?.drop();
  await prisma.$disconnect();
});

function startConsumer(
  group: string,
  topic: string,
  handler: MessageHandler,
  extra: Partial<ReliableConsumerOptions> = {},
) {
  return ReliableConsumer.start({
    group,
    topic,
    handler,
    rocketmq: testConfig.rocketmq,
    temporal: testConfig.temporal,
    serviceTaskQueue: service.config.temporal.taskQueue,
    retryDelayMs: 1000,
    invisibleDurationMs: 10_000,
    log: logs.log,
    ...extra,
  }).then((consumer) => {
    consumers.push(consumer);
    return consumer;
  });
}

async function stopConsumer(consumer: ReliableConsumer): Promise<void> {
  await consumer.stop();
  consumers.splice(consumers.indexOf(consumer), 1);
}

/** Per-message timings with no service resend within a test: only the broker redelivers. */
const NO_RESEND = { resendAfterMs: 60_000, maxResendIntervalMs: 60_000 };
const idempotency = () => ({ idempotency: { pool: shop.pool } });

/** The business effect: one row per handler run that committed. */
async function insertEffect(conn: PoolConnection | undefined, m: ConsumedMessage, group: string) {
  await (conn ?? shop.pool).query('INSERT INTO effects (message_key, consumer_group) VALUES (?, ?)', [m.key, group]);
}

function recording(calls: ConsumedMessage[]): MessageHandler {
  return async (m, ctx) => {
    calls.push(m);
    await insertEffect(ctx.conn, m, ctx.group);
  };
}

async function effects(key: string, group: string): Promise<number> {
  const [rows] = await shop.pool.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n FROM effects WHERE message_key = ? AND consumer_group = ?',
    [key, group],
  );
  return Number(rows[0]?.n);
}

const withStatus = (key: string, status: MessageState['status'], timeoutMs?: number) =>
  waitForStatus(client, key, status, timeoutMs);

const eventsOf = (key: string) => prisma.messageEvent.findMany({ where: { messageKey: key }, orderBy: { seq: 'asc' } });
const delivery = (s: MessageState, group: string) => s.deliveries.find((d) => d.group === group);
const sends = async (key: string) => (await eventsOf(key)).filter((e) => e.type === 'PUBLISHED' || e.type === 'RESENT');

describe('ReliableConsumer', () => {
  it('two groups on one topic: only the group whose tag filter matches is a subscriber, and it consumes once', async () => {
    const topic = await freshTopic('cons');
    const [stock, audit] = [uniqueId('stock'), uniqueId('audit')];
    const stockCalls: ConsumedMessage[] = [];
    const auditCalls: ConsumedMessage[] = [];
    await startConsumer(stock, topic, recording(stockCalls), { tags: ['created', 'updated'], ...idempotency() });
    await startConsumer(audit, topic, recording(auditCalls), { tags: ['paid'] });
    const subscriptions = await prisma.subscription.findMany({ where: { topic }, orderBy: { consumerGroup: 'asc' } });
    expect(subscriptions.map((s) => [s.consumerGroup, s.tagExpression]).sort()).toEqual(
      [
        [stock, 'created || updated'],
        [audit, 'paid'],
      ].sort(),
    );

    const key = uniqueId('order');
    await client.send({ key, topic, tag: 'created', body: '{"sku":"A","qty":1}', properties: { region: 'eu' } });
    const s = await withStatus(key, 'FINISHED');
    expect(s.deliveries.map((d) => d.group)).toEqual([stock]);
    expect(delivery(s, stock)).toMatchObject({ status: 'CONSUMED', sendCount: 1 });
    expect(delivery(s, stock)?.receiveCount).toBeGreaterThanOrEqual(1);
    expect(stockCalls).toEqual([
      {
        key,
        topic,
        tag: 'created',
        body: '{"sku":"A","qty":1}',
        properties: { region: 'eu' },
        messageId: expect.any(String),
        round: 1,
      },
    ]);
    expect(auditCalls).toHaveLength(0);
    expect(await effects(key, stock)).toBe(1);
    // Every line about the message names the key and the group.
    const lines = logs.forKey(key);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.consumerGroup === stock)).toBe(true);
  });

  it('a delayed message (DELAY topic) reaches its handler once, no sooner than its delay after it was published', async () => {
    const topic = await freshTopic('delayed', 'DELAY');
    const group = uniqueId('later');
    const handledAt: number[] = [];
    await startConsumer(group, topic, async () => {
      handledAt.push(Date.now());
    });
    const key = uniqueId('delayed');
    const delayMs = 4000;
    await client.send({ key, topic, body: 'later', delayMs, timings: NO_RESEND });
    const s = await withStatus(key, 'FINISHED');
    expect(s.publishedAt).toBeDefined();
    expect(handledAt).toHaveLength(1);
    // The broker's timer wheel rounds to its precision (1 s) and may fire that much early.
    expect((handledAt[0] as number) - (s.publishedAt as number)).toBeGreaterThanOrEqual(delayMs - 1000);
    expect(delivery(s, group)).toMatchObject({ status: 'CONSUMED', sendCount: 1 });
  });

  it('a handler that fails twice then succeeds: one business effect, the error recorded on the delivery in between', async () => {
    const topic = await freshTopic('cons');
    const group = uniqueId('stock');
    const attempts: number[] = [];
    await startConsumer(
      group,
      topic,
      async (m, ctx) => {
        attempts.push(ctx.attempt);
        await insertEffect(ctx.conn, m, ctx.group); // rolled back with the failures below
        if (attempts.length <= 2) throw new Error(`stock service busy (call ${attempts.length})`);
      },
      idempotency(),
    );
    const key = uniqueId('order');
    // Only the broker's redelivery brings it back here: the service's resend is far away.
    await client.send({ key, topic, body: 'x', timings: NO_RESEND });
    const failing = await eventually(
      async () => {
        const s = await client.get(key);
        return delivery(s, group)?.lastError ? s : undefined;
      },
      10_000,
      'the error on the delivery',
    );
    expect(failing.status).toBe('SENDING');
    expect(delivery(failing, group)).toMatchObject({
      status: 'RECEIVED',
      lastError: expect.stringMatching(/stock service busy/),
    });

    const s = await withStatus(key, 'FINISHED');
    // The broker's own count; it is not always exact after changed invisible durations.
    expect(attempts).toHaveLength(3);
    expect(attempts[0]).toBe(1);
    expect(await effects(key, group)).toBe(1);
    expect(delivery(s, group)).toMatchObject({ status: 'CONSUMED', sendCount: 1, receiveCount: 3 });
    const failures = (await eventsOf(key)).filter((e) => e.type === 'CONSUME_FAILED');
    expect(failures.map((e) => (e.detail as { error: string }).error)).toEqual([
      'stock service busy (call 1)',
      'stock service busy (call 2)',
    ]);
    const failureLogs = logs.forKey(key, 'handler failed; the message comes back');
    expect(failureLogs).toHaveLength(2);
    expect(failureLogs.every((l) => l.consumerGroup === group && l.err)).toBe(true);
  });

  it('a group that is down gets resends at growing intervals, and consumes once when it starts', async () => {
    const topic = await freshTopic('cons');
    const group = uniqueId('stock');
    // Subscribed (say by an earlier deployment), but no consumer runs.
    await client.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: group });
    const key = uniqueId('order');
    await client.send({ key, topic, body: 'x', timings: { resendAfterMs: 500, resendBackoff: 2, maxSends: 8 } });
    const early = await eventually(async () => {
      const r = await sends(key);
      return r.length >= 3 && r;
    }, 10_000);
    const gaps = early.slice(1, 3).map((e, i) => e.createdAt.getTime() - (early[i]?.createdAt.getTime() ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(450); // 0.5 s
    expect(gaps[1]).toBeGreaterThanOrEqual(950); // then 1 s
    expect(gaps[1]).toBeGreaterThan(gaps[0] ?? Infinity);
    expect(early.every((e) => (e.detail as { groups: string[] }).groups.join() === group)).toBe(true);
    expect(delivery(await client.get(key), group)?.sendCount).toBeGreaterThanOrEqual(3);

    const calls: ConsumedMessage[] = [];
    await startConsumer(group, topic, recording(calls), idempotency());
    const s = await withStatus(key, 'FINISHED');
    expect(delivery(s, group)).toMatchObject({ status: 'CONSUMED' });
    expect(delivery(s, group)?.sendCount).toBeGreaterThanOrEqual(3);
    expect(await effects(key, group)).toBe(1); // however many copies it found, the effect happened once
  });

  it('a group that never consumes is DEAD after maxSends; after the fix an operator resend finishes it', async () => {
    const topic = await freshTopic('cons');
    const group = uniqueId('stock');
    const broken = await startConsumer(
      group,
      topic,
      async () => {
        throw new Error('schema mismatch');
      },
      idempotency(),
    );
    const key = uniqueId('order');
    await client.send({ key, topic, body: 'x', timings: { maxSends: 3, resendAfterMs: 600 } });
    const dead = await withStatus(key, 'DEAD', 20_000);
    expect(dead.deadReason).toBe('UNCONSUMED');
    expect(delivery(dead, group)).toMatchObject({ status: 'DEAD', sendCount: 3, lastError: 'schema mismatch' });
    const row = await eventually(
      () => prisma.delivery.findFirst({ where: { messageKey: key, consumerGroup: group, status: 'DEAD' } }),
      10_000,
      'the DEAD delivery projection',
    );
    expect(row.sendCount).toBe(3);
    // Copies still coming back to the broken consumer are counted, but the delivery stays DEAD.
    const later = await eventually(
      async () => {
        const s = await client.get(key);
        return (delivery(s, group)?.receiveCount ?? 0) > (delivery(dead, group)?.receiveCount ?? 0) && s;
      },
      15_000,
      'a receive after DEAD',
    );
    expect(later.status).toBe('DEAD');
    expect(delivery(later, group)?.status).toBe('DEAD');
    // Before each resend the service asked the group's check-back, which found nothing consumed.
    const checks = (await eventsOf(key)).filter((e) => e.type === 'CONSUMER_CHECK_BACK');
    expect(checks.map((e) => (e.detail as { answer: string }).answer)).toEqual([
      'NOT_CONSUMED',
      'NOT_CONSUMED',
      'NOT_CONSUMED',
    ]);

    // The fix is deployed: the broken consumer goes away, the operator resends, the fixed one consumes.
    await stopConsumer(broken);
    const revived = await client.resend(key);
    expect(revived.status).toBe('SENDING');
    expect(delivery(revived, group)?.status).toBe('PENDING');
    const calls: ConsumedMessage[] = [];
    await startConsumer(group, topic, recording(calls), idempotency());
    const s = await withStatus(key, 'FINISHED');
    expect(delivery(s, group)).toMatchObject({ status: 'CONSUMED' });
    expect(delivery(s, group)?.sendCount).toBeGreaterThanOrEqual(4);
    expect(await effects(key, group)).toBe(1);
    const types = (await eventsOf(key)).map((e) => e.type);
    expect(types.indexOf('OPERATOR_RESEND')).toBeGreaterThan(types.indexOf('DEAD'));
    expect(types.lastIndexOf('RESENT')).toBeGreaterThan(types.indexOf('OPERATOR_RESEND'));
  });

  it('the consumed report is lost after commit: the consumer check-back finds it consumed and nothing is resent', async () => {
    const topic = await freshTopic('cons');
    const probe = await TopicProbe.start(topic);
    cleanups.push(() => probe.stop());
    const group = uniqueId('stock');
    const calls: ConsumedMessage[] = [];
    await startConsumer(group, topic, recording(calls), {
      ...idempotency(),
      testHooks: {
        beforeConsumedReport: () => {
          throw new Error('killed after commit and broker ack, before reporting');
        },
      },
    });
    const key = uniqueId('order');
    await client.send({ key, topic, body: 'x' }); // first resend due after 1.5 s
    const s = await withStatus(key, 'FINISHED');
    expect(logs.forKey(key, 'crash injected before the consumed report; not reported')).toHaveLength(1);
    expect(delivery(s, group)).toMatchObject({ status: 'CONSUMED', sendCount: 1 });
    const events = await eventsOf(key);
    const checks = events.filter((e) => e.type === 'CONSUMER_CHECK_BACK');
    expect(checks.map((e) => [e.consumerGroup, (e.detail as { answer: string }).answer])).toEqual([
      [group, 'CONSUMED'],
    ]);
    expect(events.map((e) => e.type)).not.toContain('RESENT');
    expect(calls).toHaveLength(1);
    expect(await effects(key, group)).toBe(1);
    expect(probe.forKey(key)).toHaveLength(1); // one publication on the topic, ever
  });

  it('a group that already consumed does not run its handler again when another group is resent to', async () => {
    const topic = await freshTopic('cons');
    const [fast, slow] = [uniqueId('stock'), uniqueId('points')];
    const fastCalls: ConsumedMessage[] = [];
    let slowCalls = 0;
    // No idempotency table: only the publication's target groups keep the fast group's handler away.
    await startConsumer(fast, topic, recording(fastCalls));
    await startConsumer(slow, topic, async () => {
      slowCalls += 1;
      throw new Error('points service down');
    });
    const key = uniqueId('order');
    await client.send({ key, topic, body: 'x', timings: { resendAfterMs: 500, resendBackoff: 1 } });
    // The fast group's consumer received the two resends as well, and skipped them.
    await eventually(
      async () =>
        logs.lines.filter(
          (l) => l.consumerGroup === fast && l.messageKey === key && l.msg.startsWith('publication for other groups'),
        ).length >= 2,
      15_000,
      'the fast group to skip two resends',
    );
    const s = await client.get(key);
    expect(delivery(s, fast)).toMatchObject({ status: 'CONSUMED', sendCount: 1 });
    expect(delivery(s, slow)?.sendCount).toBeGreaterThanOrEqual(3);
    expect(fastCalls).toHaveLength(1);
    expect(await effects(key, fast)).toBe(1);
    const resent = (await eventsOf(key)).filter((e) => e.type === 'RESENT');
    expect(resent.length).toBeGreaterThanOrEqual(2);
    expect(resent.every((e) => (e.detail as { groups: string[] }).groups.join() === slow)).toBe(true);
    expect(slowCalls).toBeGreaterThanOrEqual(2);
  });

  it('a late consumed report after DEAD still counts: the message finishes', async () => {
    const topic = await freshTopic('cons');
    const group = uniqueId('stock');
    const slowBusiness = latch();
    const calls: ConsumedMessage[] = [];
    await startConsumer(
      group,
      topic,
      async (m, ctx) => {
        calls.push(m);
        await slowBusiness.promise;
        await insertEffect(ctx.conn, m, ctx.group);
      },
      { reportReceivedAfterMs: 0 }, // the receipt is reported at once, before DEAD
    );
    const key = uniqueId('order');
    await client.send({ key, topic, body: 'x', timings: { maxSends: 1, resendAfterMs: 300 } });
    const dead = await withStatus(key, 'DEAD', 10_000);
    expect(delivery(dead, group)).toMatchObject({ status: 'DEAD', receiveCount: 1, sendCount: 1 });
    expect(calls).toHaveLength(1); // still running

    slowBusiness.release();
    const s = await withStatus(key, 'FINISHED');
    expect(delivery(s, group)?.status).toBe('CONSUMED');
    const types = (await eventsOf(key)).map((e) => e.type);
    expect(types.slice(types.indexOf('DEAD'))).toEqual(['DEAD', 'CONSUMED', 'FINISHED']);
    expect(await effects(key, group)).toBe(1);
  });

  it('stop() lets the in-flight handler finish and report before it closes', async () => {
    const topic = await freshTopic('cons');
    const group = uniqueId('stock');
    const business = latch();
    let handlerDone = false;
    const consumer = await startConsumer(
      group,
      topic,
      async (m, ctx) => {
        await business.promise;
        await insertEffect(ctx.conn, m, ctx.group);
        handlerDone = true;
      },
      idempotency(),
    );
    const key = uniqueId('order');
    await client.send({ key, topic, body: 'x', timings: NO_RESEND });
    await eventually(async () => delivery(await client.get(key), group)?.status === 'RECEIVED', 10_000, 'RECEIVED');
    let stopped = false;
    const stopping = stopConsumer(consumer).then(() => {
      stopped = true;
    });
    await eventually(
      async () => logs.forGroup(group, 'stopped receiving; draining in-flight messages').length > 0,
      10_000,
      'the drain',
    );
    expect(logs.forGroup(group, 'stopped receiving; draining in-flight messages')[0]).toMatchObject({ inflight: 1 });
    expect(stopped).toBe(false);
    business.release();
    await stopping;
    expect(handlerDone).toBe(true);
    // Reported before stop() returned: the state shows it with no waiting.
    const s = await client.get(key);
    expect(delivery(s, group)?.status).toBe('CONSUMED');
    expect(await effects(key, group)).toBe(1);
  });

  /**
   * Sends `messages` to a consumer of `concurrency` whose handler holds each message until all of them
   * run at once (or `holdMs` passes); returns the most handlers that ran at once.
   */
  async function mostAtOnce(messages: number, concurrency: number, holdMs: number): Promise<number> {
    const topic = await freshTopic('cons');
    const allRunning = latch();
    let running = 0;
    let most = 0;
    await startConsumer(
      uniqueId('stock'),
      topic,
      async () => {
        running += 1;
        most = Math.max(most, running);
        if (running === messages) allRunning.release();
        await Promise.race([allRunning.promise, new Promise((r) => setTimeout(r, holdMs))]);
        running -= 1;
      },
      { concurrency },
    );
    const keys = Array.from({ length: messages }, () => uniqueId('order'));
    await Promise.all(keys.map((key) => client.send({ key, topic, body: key, timings: NO_RESEND })));
    await Promise.all(keys.map((key) => withStatus(key, 'FINISHED')));
    return most;
  }

  it('runs at most `concurrency` handlers at once', async () => {
    const most = await mostAtOnce(6, 2, 200);
    expect(most).toBeGreaterThanOrEqual(1);
    expect(most).toBeLessThanOrEqual(2);
  });

  it('runs more than ten handlers at once without a listener-leak warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      // Held long enough for the broker to hand out the rest.
      expect(await mostAtOnce(12, 16, 5000)).toBeGreaterThan(10);
      expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('keeps a slow message invisible while its handler runs, so it is not delivered twice at once', async () => {
    const topic = await freshTopic('cons');
    const group = uniqueId('stock');
    const calls: ConsumedMessage[] = [];
    await startConsumer(
      group,
      topic,
      async (m) => {
        calls.push(m);
        await new Promise((r) => setTimeout(r, 3500)); // well past the 1.5 s invisible duration
      },
      { invisibleDurationMs: 1500 },
    );
    const key = uniqueId('order');
    await client.send({ key, topic, body: 'x', timings: NO_RESEND });
    const s = await withStatus(key, 'FINISHED');
    expect(calls).toHaveLength(1);
    expect(delivery(s, group)?.receiveCount).toBe(1);
  });

  it('a message whose workflow is unknown is handled and acked, the reports dropped; a foreign one is skipped', async () => {
    const topic = await freshTopic('cons');
    const group = uniqueId('stock');
    const calls: ConsumedMessage[] = [];
    await startConsumer(
      group,
      topic,
      async (m) => {
        calls.push(m);
      },
      { reportReceivedAfterMs: 0 }, // both reports are sent (and dropped), not folded into one
    );
    const publisher = createRocketmqPublisher({ endpoints: testConfig.rocketmq.endpoints, log: testLogger });
    cleanups.push(() => publisher.close());
    const orphan = uniqueId('orphan');
    const foreign = uniqueId('foreign');
    await publisher.publish({
      topic,
      keys: [orphan],
      body: Buffer.from('o'),
      properties: { [MessageProperty.key]: orphan, [MessageProperty.groups]: group, [MessageProperty.round]: '1' },
    });
    await publisher.publish({ topic, keys: [foreign], body: Buffer.from('f'), properties: { other: 'app' } });
    await eventually(async () => logs.forKey(orphan, 'consumed').length > 0, 10_000, 'the orphan to be consumed');
    await eventually(
      async () => logs.forKey(foreign, /^publication for other groups/).length > 0,
      10_000,
      'the foreign message skipped',
    );
    expect(calls.map((c) => c.key)).toEqual([orphan]);
    const dropped = logs.forKey(orphan, 'message workflow is closed or unknown; report dropped');
    expect(dropped.map((l) => l.status)).toEqual(['RECEIVED', 'CONSUMED']);
    expect(logs.forKey(orphan).filter((l) => l.level >= 40)).toEqual([]); // acked without trouble
  });
});
