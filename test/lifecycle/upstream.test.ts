import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { createPrisma } from '../../src/db/prisma.js';
import { InvalidTransitionError, KeyConflictError, MessageNotFoundError, ValidationError } from '../../src/errors.js';
import { ackSignal, MessageProperty, workflowIdForKey } from '../../workflows/definitions.js';
import { type BusinessDb, createBusinessDb } from '../helpers/business-db.js';
import {
  connectTestClient,
  eventually,
  startTestService,
  type TestService,
  waitForStatus,
} from '../helpers/service.js';
import { freshTopic, testConfig, uniqueId } from '../helpers/stack.js';
import { TopicProbe } from '../helpers/topic-probe.js';

const prisma = createPrisma(testConfig.databaseUrl);
let service: TestService;
let topic: string;
let probe: TopicProbe;
let subscriber: string;
let orders: BusinessDb;
const clients: ReliableMessageClient[] = [];

async function newClient(producerGroup = uniqueId('producer')): Promise<ReliableMessageClient> {
  const c = await connectTestClient(service.config, producerGroup);
  clients.push(c);
  return c;
}

const rowOf = (key: string) =>
  prisma.message.findUnique({ where: { key }, include: { deliveries: true, events: { orderBy: { seq: 'asc' } } } });

/** Plays the subscriber's part by hand: what the consumer SDK reports. */
async function ack(c: ReliableMessageClient, key: string, status: 'RECEIVED' | 'CONSUMED', group = subscriber) {
  await c.temporal.workflow.getHandle(workflowIdForKey(key)).signal(ackSignal, { group, status });
}

beforeAll(async () => {
  service = await startTestService();
  topic = await freshTopic('upstream');
  probe = await TopicProbe.start(topic);
  subscriber = uniqueId('sub');
  const admin = await newClient();
  await admin.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: subscriber });
  orders = await createBusinessDb('orders', ['CREATE TABLE orders (id VARCHAR(64) PRIMARY KEY, amount INT NOT NULL)']);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await probe?.stop();
  await service?.stop();
  await orders?.drop();
  await prisma.$disconnect();
});

describe('upstream: prepare, confirm, cancel', () => {
  it('prepare is idempotent by key: a second prepare registers nothing new; other content under the key is refused', async () => {
    const c = await newClient();
    const key = uniqueId('k');
    const first = await c.prepare({ key, topic, body: 'one' });
    const second = await c.prepare({ key, topic, body: 'one' });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    await expect(c.prepare({ key, topic, body: 'two' })).rejects.toBeInstanceOf(KeyConflictError);
    await eventually(async () => (await rowOf(key))?.status === 'WAITING_CONFIRM', 10_000, 'projection');
    expect(await prisma.message.count({ where: { key } })).toBe(1);
    expect((await rowOf(key))?.body).toBe('one');
    await c.cancel(key, 'test done');
  });

  it('confirm publishes once to every subscriber; acks finish it; projections follow every step', async () => {
    const c = await newClient();
    const key = uniqueId('k');
    await c.prepare({ key, topic, tag: 'created', body: '{"order":1}', properties: { region: 'eu' } });
    const waiting = await waitForStatus(c, key, 'WAITING_CONFIRM');
    expect(waiting.deliveries).toEqual([]);

    await c.confirm(key);
    await c.confirm(key); // idempotent
    const sending = await eventually(
      async () => {
        const s = await c.get(key);
        return s.sendCount === 1 && s;
      },
      10_000,
      'publication',
    );
    expect(sending.status).toBe('SENDING');
    expect(sending.deliveries).toMatchObject([{ group: subscriber, status: 'PENDING', sendCount: 1 }]);
    const row = await eventually(
      async () => {
        const r = await rowOf(key);
        return r?.version === sending.version && r;
      },
      10_000,
      'projection of SENDING',
    );
    expect(row.status).toBe('SENDING');
    expect(row.deliveries).toMatchObject([{ consumerGroup: subscriber, status: 'PENDING', sendCount: 1 }]);

    const published = await probe.published(key, 15_000, 'message on the topic');
    expect(published[0]?.tag).toBe('created');
    expect(published[0]?.body.toString()).toBe('{"order":1}');
    expect(published[0]?.properties.get(MessageProperty.groups)).toBe(subscriber);
    expect(published[0]?.properties.get('region')).toBe('eu');

    await ack(c, key, 'RECEIVED');
    await ack(c, key, 'CONSUMED');
    const finished = await waitForStatus(c, key, 'FINISHED');
    expect(finished.deliveries[0]).toMatchObject({ status: 'CONSUMED', receiveCount: 1 });
    const done = await eventually(
      async () => {
        const r = await rowOf(key);
        return r?.status === 'FINISHED' && r;
      },
      10_000,
      'projection of FINISHED',
    );
    expect(done.deliveries[0]?.status).toBe('CONSUMED');
    expect(done.events.map((e) => e.type)).toEqual([
      'PREPARED',
      'CONFIRMED',
      'SUBSCRIBERS',
      'PUBLISHED',
      'RECEIVED',
      'CONSUMED',
      'FINISHED',
    ]);
    expect(probe.forKey(key)).toHaveLength(1);
  });

  it('cancel publishes nothing; confirm after cancel and cancel after confirm are errors', async () => {
    const c = await newClient();
    const key = uniqueId('k');
    await c.prepare({ key, topic, body: 'x' });
    const cancelled = await c.cancel(key, 'order rolled back');
    expect(cancelled.status).toBe('CANCELLED');
    await expect(c.confirm(key)).rejects.toBeInstanceOf(InvalidTransitionError);
    expect((await c.get(key)).cancelReason).toBe('order rolled back');

    const other = uniqueId('k');
    await c.send({ key: other, topic, body: 'y' });
    await expect(c.cancel(other)).rejects.toThrow(/already confirmed/);

    await probe.published(other, 15_000, 'the confirmed one to be published');
    expect(probe.forKey(key)).toHaveLength(0);
    expect((await rowOf(key))?.status).toBe('CANCELLED');
  });

  it('rejects bad input with an error naming the field, and writes nothing', async () => {
    const c = await newClient();
    const key = uniqueId('bad');
    await expect(c.prepare({ key: '', topic, body: 'x' })).rejects.toThrow(
      new ValidationError('key', 'must not be empty'),
    );
    await expect(c.prepare({ key, topic: '', body: 'x' } as never)).rejects.toThrow(/^topic /);
    await expect(c.prepare({ key, body: 'x' } as never)).rejects.toThrow(/^topic is required/);
    await expect(c.prepare({ key, topic, body: 'x'.repeat(5_000_000) })).rejects.toThrow(/^body must be at most/);
    await expect(c.prepare({ key, topic, body: 'x', timings: { maxSends: 0 } })).rejects.toThrow(/^timings\.maxSends/);
    await expect(c.confirm(uniqueId('never-prepared'))).rejects.toBeInstanceOf(MessageNotFoundError);
    await expect(c.get(key)).rejects.toBeInstanceOf(MessageNotFoundError);
    expect(await prisma.message.count({ where: { key } })).toBe(0);
  });
});

describe('upstream: check-back', () => {
  it('crash after the local commit, before confirm: check-back COMMIT delivers it', async () => {
    const group = uniqueId('producer');
    const c = await newClient(group);
    const key = uniqueId('k');
    // The local transaction commits (business row + local message row), then the process "dies".
    const conn = await orders.pool.getConnection();
    await c.serveCheckBack(group, { pool: orders.pool });
    await conn.beginTransaction();
    await conn.query('INSERT INTO rmsg_producer_message (message_key, producer_group) VALUES (?, ?)', [key, group]);
    await c.prepare({ key, topic, body: 'crash-before-confirm' });
    await conn.query('INSERT INTO orders VALUES (?, 10)', [key]);
    await conn.commit();
    conn.release();

    await probe.published(key, 20_000, 'delivery after check-back');
    const s = await c.get(key);
    expect(s.status).toBe('SENDING');
    expect(s.checkBackCount).toBeGreaterThanOrEqual(1);
    const events = (await rowOf(key))?.events ?? [];
    expect(events.find((e) => e.type === 'CONFIRMED')?.detail).toEqual({ by: 'check-back' });
  });

  it('local rollback: check-back ROLLBACK cancels it', async () => {
    const group = uniqueId('producer');
    const c = await newClient(group);
    await c.serveCheckBack(group, { pool: orders.pool });
    const key = uniqueId('k');
    await c.prepare({ key, topic, body: 'rolled-back' });
    const s = await waitForStatus(c, key, 'CANCELLED');
    expect(s.cancelReason).toMatch(/ROLLBACK/);
    expect(probe.forKey(key)).toHaveLength(0);
  });

  it.each([
    ['UNKNOWN', async () => 'UNKNOWN' as const],
    [
      'ERROR',
      async (): Promise<'COMMIT'> => {
        throw new Error('order service database is down');
      },
    ],
    ['MALFORMED', async () => 'yes please' as never],
  ])('check-back answering %s keeps waiting, with backoff, and never publishes', async (expected, handler) => {
    const group = uniqueId('producer');
    const c = await newClient(group);
    await c.serveCheckBack(group, handler);
    const key = uniqueId('k');
    await c.prepare({ key, topic, body: 'unknown' });
    const s = await eventually(
      async () => {
        const st = await c.get(key);
        return st.checkBackCount >= 3 && st;
      },
      20_000,
      'three check-backs',
    );
    expect(s.status).toBe('WAITING_CONFIRM');
    const checks = ((await rowOf(key))?.events ?? []).filter((e) => e.type === 'CHECK_BACK');
    expect(checks.length).toBeGreaterThanOrEqual(2);
    expect(checks.every((e) => (e.detail as { answer: string }).answer === expected)).toBe(true);
    const gaps = checks.slice(1).map((e, i) => e.createdAt.getTime() - (checks[i]?.createdAt.getTime() ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(500); // backoff: 500 ms, then 750 ms, ...
    expect(probe.forKey(key)).toHaveLength(0);
    await c.cancel(key);
  });

  it('past the confirm deadline it is DEAD(UNCONFIRMED); an operator confirm then delivers it', async () => {
    const c = await newClient();
    const key = uniqueId('k');
    await c.prepare({ key, topic, body: 'late', timings: { confirmDeadlineMs: 1500 } });
    const dead = await waitForStatus(c, key, 'DEAD');
    expect(dead.deadReason).toBe('UNCONFIRMED');
    expect((await rowOf(key))?.deadReason).toBe('UNCONFIRMED');
    await expect(c.resend(key)).rejects.toThrow(/confirm or cancel/);
    await c.confirm(key);
    await probe.published(key, 15_000, 'delivery after operator confirm');
    expect((await c.get(key)).status).toBe('SENDING');
  });
});

describe('upstream: withReliableMessage', () => {
  it('commits the business and delivers; a throw rolls back and cancels', async () => {
    const group = uniqueId('producer');
    const c = await newClient(group);
    await c.serveCheckBack(group, { pool: orders.pool });
    const key = uniqueId('order');
    const result = await c.withReliableMessage(orders.pool, { key, topic, tag: 'created', body: key }, async (conn) => {
      await conn.query('INSERT INTO orders VALUES (?, 42)', [key]);
      return 'created';
    });
    expect(result).toBe('created');
    await probe.published(key, 15_000, 'delivery');
    const [rows] = await orders.pool.query('SELECT amount FROM orders WHERE id = ?', [key]);
    expect(rows).toEqual([{ amount: 42 }]);

    const failing = uniqueId('order');
    await expect(
      c.withReliableMessage(orders.pool, { key: failing, topic, body: failing }, async (conn) => {
        await conn.query('INSERT INTO orders VALUES (?, 1)', [failing]);
        throw new Error('payment declined');
      }),
    ).rejects.toThrow('payment declined');
    const cancelled = await c.get(failing);
    expect(cancelled.status).toBe('CANCELLED');
    expect(cancelled.cancelReason).toMatch(/payment declined/);
    const [none] = await orders.pool.query('SELECT * FROM orders WHERE id = ?', [failing]);
    expect(none).toEqual([]);
    expect(probe.forKey(failing)).toHaveLength(0);
  });
});

describe('durability', () => {
  it('a worker restart in the middle of a message: the message still completes', async () => {
    const c = await newClient();
    const key = uniqueId('k');
    await c.send({ key, topic, body: 'restart' });
    await eventually(async () => probe.forKey(key).length > 0, 15_000, 'publication');
    await service.worker.shutdown();
    await ack(c, key, 'RECEIVED'); // arrives while no worker runs
    await ack(c, key, 'CONSUMED');
    await service.restart();
    const s = await waitForStatus(c, key, 'FINISHED');
    expect(s.deliveries[0]?.status).toBe('CONSUMED');
    expect(probe.forKey(key)).toHaveLength(1);
  });
});
