import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReliableMessageClient } from '../../src/client/index.js';
import {
  type ConsumedMessage,
  type MessageHandler,
  ReliableConsumer,
  serveConsumerCheckBack,
} from '../../src/consumer/index.js';
import { createPrisma } from '../../src/db/prisma.js';
import { ackSignal, type MessageState, workflowIdForKey } from '../../workflows/definitions.js';
import { type BusinessDb, createBusinessDb } from '../helpers/business-db.js';
import { eventually, startTestService, type TestService } from '../helpers/service.js';
import { freshTopic, testConfig, testLogger, uniqueId } from '../helpers/stack.js';
import { TopicProbe } from '../helpers/topic-probe.js';

const prisma = createPrisma(testConfig.databaseUrl);
let service: TestService;
let client: ReliableMessageClient;
let stock: BusinessDb;
const consumers: ReliableConsumer[] = [];
const probes: TopicProbe[] = [];

beforeAll(async () => {
  service = await startTestService();
  client = await ReliableMessageClient.connect({
    temporal: testConfig.temporal,
    taskQueue: service.config.temporal.taskQueue,
    producerGroup: uniqueId('order-service'),
  });
  stock = await createBusinessDb('stock', [
    'CREATE TABLE effects (id INT AUTO_INCREMENT PRIMARY KEY, message_key VARCHAR(191), consumer_group VARCHAR(191))',
  ]);
});

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
  await Promise.all(probes.map((p) => p.stop()));
  await client?.close();
  await service?.stop();
  await stock?.drop();
  await prisma.$disconnect();
});

async function startConsumer(
  group: string,
  topic: string,
  handler: MessageHandler,
  extra: { tags?: string[]; idempotent?: boolean } = {},
) {
  const consumer = await ReliableConsumer.start({
    group,
    topic,
    tags: extra.tags,
    handler,
    rocketmq: testConfig.rocketmq,
    temporal: testConfig.temporal,
    serviceTaskQueue: service.config.temporal.taskQueue,
    idempotency: extra.idempotent === false ? undefined : { pool: stock.pool },
    retryDelayMs: 1000,
    invisibleDurationMs: 10_000,
    log: testLogger,
  });
  consumers.push(consumer);
  return consumer;
}

/** A handler whose business effect is a row in the stock database, in the idempotency transaction. */
function recordingHandler(calls: ConsumedMessage[], failFirst = 0): MessageHandler {
  return async (m, ctx) => {
    calls.push(m);
    if (calls.filter((c) => c.key === m.key).length <= failFirst)
      throw new Error(`stock service busy (call ${calls.length})`);
    await (ctx.conn ?? stock.pool).query('INSERT INTO effects (message_key, consumer_group) VALUES (?, ?)', [
      m.key,
      ctx.group,
    ]);
  };
}

async function effects(key: string, group: string): Promise<number> {
  const [rows] = await stock.pool.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n FROM effects WHERE message_key = ? AND consumer_group = ?',
    [key, group],
  );
  return Number(rows[0]?.n);
}

const finished = (key: string, timeoutMs = 30_000) =>
  eventually(
    async () => {
      const s = await client.get(key);
      return s.status === 'FINISHED' && s;
    },
    timeoutMs,
    `${key} to finish`,
  );

const eventsOf = (key: string) => prisma.messageEvent.findMany({ where: { messageKey: key }, orderBy: { seq: 'asc' } });
const delivery = (s: MessageState, group: string) => s.deliveries.find((d) => d.group === group);

describe('downstream', () => {
  it('two groups on one topic: only the one whose tag filter matches is a subscriber, and it consumes once', async () => {
    const topic = await freshTopic('down');
    const [matching, excluded] = [uniqueId('stock'), uniqueId('audit')];
    const calls: ConsumedMessage[] = [];
    const excludedCalls: ConsumedMessage[] = [];
    await startConsumer(matching, topic, recordingHandler(calls), { tags: ['created'] });
    await startConsumer(excluded, topic, recordingHandler(excludedCalls), { tags: ['paid'] });
    const key = uniqueId('order');
    await client.send({ key, topic, tag: 'created', body: '{"sku":"A","qty":1}', properties: { region: 'eu' } });
    const s = await finished(key);
    expect(s.deliveries.map((d) => d.group)).toEqual([matching]);
    expect(delivery(s, matching)).toMatchObject({ status: 'CONSUMED', sendCount: 1 });
    expect(delivery(s, matching)?.receiveCount).toBeGreaterThanOrEqual(1);
    expect(calls.map((c) => [c.key, c.body, c.tag, c.properties])).toEqual([
      [key, '{"sku":"A","qty":1}', 'created', { region: 'eu' }],
    ]);
    expect(excludedCalls).toHaveLength(0);
    expect(await effects(key, matching)).toBe(1);
    const row = await prisma.delivery.findUniqueOrThrow({
      where: { messageKey_consumerGroup: { messageKey: key, consumerGroup: matching } },
    });
    expect(row.status).toBe('CONSUMED');
  });

  it('a handler that fails twice then succeeds: one business effect, the errors recorded on the delivery', async () => {
    const topic = await freshTopic('down');
    const group = uniqueId('stock');
    const calls: ConsumedMessage[] = [];
    await startConsumer(group, topic, recordingHandler(calls, 2));
    const key = uniqueId('order');
    await client.send({ key, topic, body: 'x', timings: { resendAfterMs: 20_000 } });
    const s = await finished(key);
    expect(calls.length).toBe(3);
    expect(await effects(key, group)).toBe(1);
    expect(delivery(s, group)?.receiveCount).toBe(3);
    const failures = (await eventsOf(key)).filter((e) => e.type === 'CONSUME_FAILED');
    expect(failures.map((e) => (e.detail as { error: string }).error)).toEqual([
      expect.stringMatching(/stock service busy/),
      expect.stringMatching(/stock service busy/),
    ]);
  });

  it('a group that is down gets resends with growing intervals, and consumes once when it is back', async () => {
    const topic = await freshTopic('down');
    const group = uniqueId('stock');
    const calls: ConsumedMessage[] = [];
    const first = await startConsumer(group, topic, recordingHandler(calls));
    await first.stop(); // the group exists (subscribed, has an offset), then goes down
    consumers.splice(consumers.indexOf(first), 1);
    const key = uniqueId('order');
    await client.send({ key, topic, body: 'x', timings: { maxSends: 6 } });
    const resent = await eventually(
      async () => {
        const r = (await eventsOf(key)).filter((e) => e.type === 'PUBLISHED' || e.type === 'RESENT');
        return r.length >= 3 && r;
      },
      20_000,
      'three sends',
    );
    const gaps = resent.slice(1).map((e, i) => e.createdAt.getTime() - (resent[i]?.createdAt.getTime() ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(1400); // 1.5 s, then 2.25 s
    expect(gaps[1]).toBeGreaterThan(gaps[0] ?? 0);
    expect(resent.every((e) => (e.detail as { groups: string[] }).groups.join() === group)).toBe(true);

    await startConsumer(group, topic, recordingHandler(calls));
    const s = await finished(key);
    expect(delivery(s, group)?.sendCount).toBeGreaterThanOrEqual(3);
    expect(await effects(key, group)).toBe(1); // several copies arrived; the effect happened once
  });

  it('a group that never consumes is DEAD after maxSends; after the fix an operator resend finishes it', async () => {
    const topic = await freshTopic('down');
    const group = uniqueId('stock');
    let broken = true;
    await startConsumer(group, topic, async (m, ctx) => {
      if (broken) throw new Error('schema mismatch');
      await ctx.conn?.query('INSERT INTO effects (message_key, consumer_group) VALUES (?, ?)', [m.key, ctx.group]);
    });
    const key = uniqueId('order');
    await client.send({ key, topic, body: 'x', timings: { maxSends: 2, resendAfterMs: 1000 } });
    const dead = await eventually(
      async () => {
        const s = await client.get(key);
        return s.status === 'DEAD' && s;
      },
      30_000,
      'DEAD',
    );
    expect(dead.deadReason).toBe('UNCONSUMED');
    expect(delivery(dead, group)).toMatchObject({ status: 'DEAD', sendCount: 2, lastError: 'schema mismatch' });
    const row = await eventually(
      () => prisma.delivery.findFirst({ where: { messageKey: key, consumerGroup: group, status: 'DEAD' } }),
      10_000,
      'DEAD projection',
    );
    expect(row.sendCount).toBe(2);

    broken = false;
    await client.resend(key);
    const s = await finished(key);
    expect(delivery(s, group)?.status).toBe('CONSUMED');
    expect(await effects(key, group)).toBe(1);
    expect((await eventsOf(key)).map((e) => e.type)).toContain('OPERATOR_RESEND');
  });

  it('the consumed report is lost: the consumer check-back finds it consumed and nothing is resent', async () => {
    const topic = await freshTopic('down');
    const probe = await TopicProbe.start(topic);
    probes.push(probe);
    const group = uniqueId('stock');
    // The group's consumer committed its effect (idempotency row included) and died before reporting.
    await client.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: group });
    const checkBack = await serveConsumerCheckBack({
      client: client.temporal,
      address: testConfig.temporal.address,
      serviceTaskQueue: service.config.temporal.taskQueue,
      group,
      pool: stock.pool,
      log: testLogger,
    });
    const key = uniqueId('order');
    await stock.pool.query('INSERT INTO rmsg_consumed_message (message_key, consumer_group) VALUES (?, ?)', [
      key,
      group,
    ]);
    await client.send({ key, topic, body: 'x' });
    const s = await finished(key);
    await checkBack.stop();
    expect(delivery(s, group)).toMatchObject({ status: 'CONSUMED', sendCount: 1 });
    const checks = (await eventsOf(key)).filter((e) => e.type === 'CONSUMER_CHECK_BACK');
    expect(checks.map((e) => (e.detail as { answer: string }).answer)).toEqual(['CONSUMED']);
    expect(probe.forKey(key)).toHaveLength(1);
  });

  it('a group that already consumed does not run its handler again when another group is resent to', async () => {
    const topic = await freshTopic('down');
    const [fast, slow] = [uniqueId('stock'), uniqueId('points')];
    const fastCalls: ConsumedMessage[] = [];
    const slowCalls: ConsumedMessage[] = [];
    await startConsumer(fast, topic, recordingHandler(fastCalls), { idempotent: false });
    await startConsumer(slow, topic, recordingHandler(slowCalls, 100), { idempotent: false });
    const key = uniqueId('order');
    await client.send({ key, topic, body: 'x' });
    await eventually(async () => ((await client.get(key)).sendCount >= 3 ? true : undefined), 20_000, 'two resends');
    expect(fastCalls).toHaveLength(1); // resends were for the slow group only; no idempotency table hid them
    const events = await eventsOf(key);
    expect(
      events.filter((e) => e.type === 'RESENT').every((e) => (e.detail as { groups: string[] }).groups.join() === slow),
    ).toBe(true);
    expect(slowCalls.length).toBeGreaterThanOrEqual(2);
  });

  it('a late ack after DEAD still counts', async () => {
    const topic = await freshTopic('down');
    const group = uniqueId('stock');
    await client.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: group });
    const key = uniqueId('order');
    await client.send({ key, topic, body: 'x', timings: { maxSends: 1, resendAfterMs: 500 } });
    await eventually(async () => (await client.get(key)).status === 'DEAD', 15_000, 'DEAD');
    await client.temporal.workflow.getHandle(workflowIdForKey(key)).signal(ackSignal, { group, status: 'CONSUMED' });
    const s = await finished(key);
    expect(delivery(s, group)?.status).toBe('CONSUMED');
  });
});
