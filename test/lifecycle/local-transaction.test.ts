import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageInput, ReliableMessageClient } from '../../src/client/index.js';
import { localTableCheckBack } from '../../src/client/local-table.js';
import { type LocalTransactionCalls, runInLocalTransaction } from '../../src/client/local-transaction.js';
import { CommitOutcomeUnknownError, KeyConflictError, KeyReusedError } from '../../src/errors.js';
import { type BusinessDb, createBusinessDb } from '../helpers/business-db.js';
import { CuttingProxy } from '../helpers/cutting-proxy.js';
import { createDeadlockTables, loseADeadlock } from '../helpers/deadlock.js';
import { connectTestClient, eventually, startTestService, type TestService } from '../helpers/service.js';
import { freshTopic, testLogger, uniqueId } from '../helpers/stack.js';

const DAY = 24 * 60 * 60_000;
let service: TestService;
let orders: BusinessDb;
let topic: string;
const clients: ReliableMessageClient[] = [];

async function producer(): Promise<ReliableMessageClient> {
  const group = uniqueId('orders');
  const c = await connectTestClient(service.config, group);
  clients.push(c);
  await c.serveCheckBack(group, { pool: orders.pool });
  return c;
}

/** The client's message calls, for a local transaction run with some of them changed. */
const calls = (c: ReliableMessageClient): LocalTransactionCalls<MessageInput> => ({
  producerGroup: c.producerGroup,
  prepare: (m) => c.prepare(m),
  get: (k) => c.get(k),
  confirm: (k) => c.confirm(k),
  cancel: (k, reason) => c.cancel(k, reason),
});

/** The message's state once the check-back decided it. */
const decidedByCheckBack = (c: ReliableMessageClient, key: string) =>
  eventually(
    async () => {
      const s = await c.get(key);
      return s.status !== 'WAITING_CONFIRM' && s;
    },
    20_000,
    'the check-back to decide',
  );

const orderCount = async (id: string) => {
  const [rows] = await orders.pool.query('SELECT COUNT(*) AS n FROM orders WHERE id = ?', [id]);
  return Number((rows as { n: number }[])[0]?.n);
};

beforeAll(async () => {
  service = await startTestService();
  topic = await freshTopic('local-tx');
  orders = await createBusinessDb('ltx', ['CREATE TABLE orders (id VARCHAR(64) PRIMARY KEY, amount INT NOT NULL)']);
  await createDeadlockTables(orders.pool);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await service?.stop();
  await orders?.drop();
});

describe('withReliableMessage at the edges', () => {
  it('a retry with the key of an attempt that rolled back is refused before the business runs', async () => {
    const c = await producer();
    const key = uniqueId('order');
    const insert = (amount: number) => (conn: mysql.PoolConnection) =>
      conn.query('INSERT INTO orders VALUES (?, ?)', [key, amount]).then(() => 'ok');
    await expect(
      c.withReliableMessage(orders.pool, { key, topic, body: key }, async (conn) => {
        await insert(1)(conn);
        throw new Error('payment declined');
      }),
    ).rejects.toThrow('payment declined');
    expect((await c.get(key)).status).toBe('CANCELLED');

    const retry = c.withReliableMessage(orders.pool, { key, topic, body: key }, insert(2));
    await expect(retry).rejects.toBeInstanceOf(KeyReusedError);
    await expect(retry).rejects.toThrow(/was cancelled \(local transaction rolled back: payment declined\)/);
    expect(await orderCount(key)).toBe(0);
  });

  it('a second attempt with the key, waiting on the first one that rolls back, is refused once that cancel landed', async () => {
    const c = await producer();
    const key = uniqueId('order');
    const insert = (conn: mysql.PoolConnection) => conn.query('INSERT INTO orders VALUES (?, 1)', [key]);
    let secondAsked = () => {};
    const secondHasAsked = new Promise<void>((resolve) => {
      secondAsked = resolve;
    });
    // The first attempt's cancel is slow: it lands after the second attempt asked the message's state, if
    // the second one gets that far before it (at most 3 s later).
    const slowCancel = {
      ...calls(c),
      cancel: async (k: string, reason: string) => {
        await Promise.race([secondHasAsked, sleep(3000)]);
        return c.cancel(k, reason);
      },
    };
    const asking = {
      ...calls(c),
      get: async (k: string) => {
        const state = await c.get(k);
        secondAsked();
        return state;
      },
    };
    let second: Promise<unknown> | undefined;
    const first = runInLocalTransaction(
      slowCancel,
      orders.pool,
      { key, topic, body: key },
      async (conn) => {
        await insert(conn);
        // Started now, its key's insert waits on this transaction's.
        second = runInLocalTransaction(asking, orders.pool, { key, topic, body: key }, insert, testLogger);
        await sleep(300);
        throw new Error('payment declined');
      },
      testLogger,
    );
    await expect(first).rejects.toThrow('payment declined');
    await expect(second).rejects.toBeInstanceOf(KeyReusedError);
    expect(await orderCount(key)).toBe(0);
    expect((await c.get(key)).status).toBe('CANCELLED');
  });

  it('a business that loses its transaction is not cancelled by it: the check-back answers ROLLBACK', async () => {
    const c = await producer();
    const key = uniqueId('order');
    await expect(
      c.withReliableMessage(orders.pool, { key, topic, body: key }, async (conn) => {
        await conn.query('INSERT INTO orders VALUES (?, 1)', [key]);
        await conn.query('KILL CONNECTION_ID()');
      }),
    ).rejects.toThrow();
    const ended = await decidedByCheckBack(c, key);
    expect(ended).toMatchObject({ status: 'CANCELLED', cancelReason: 'check-back answered ROLLBACK' });
    expect(await orderCount(key)).toBe(0);
  });

  it('a business that swallows the deadlock which rolled it back is not confirmed: the check-back answers ROLLBACK', async () => {
    const c = await producer();
    const key = uniqueId('order');
    let deadlock: { code?: string } | undefined;
    const attempt = c.withReliableMessage(orders.pool, { key, topic, body: key }, async (conn) => {
      await conn.query('INSERT INTO orders VALUES (?, 1)', [key]);
      deadlock = await loseADeadlock(conn, orders.pool); // caught and ignored: the business returns as if done
    });
    await expect(attempt).rejects.toBeInstanceOf(CommitOutcomeUnknownError);
    await expect(attempt).rejects.toThrow(/ended its transaction before the commit/);
    expect(deadlock?.code).toBe('ER_LOCK_DEADLOCK');
    const ended = await decidedByCheckBack(c, key);
    expect(ended).toMatchObject({ status: 'CANCELLED', cancelReason: 'check-back answered ROLLBACK' });
    expect(await orderCount(key)).toBe(0);
  });

  it('a business that commits its transaction itself is not confirmed by the SDK: the check-back answers COMMIT', async () => {
    const c = await producer();
    const key = uniqueId('order');
    const attempt = c.withReliableMessage(orders.pool, { key, topic, body: key }, async (conn) => {
      await conn.query('INSERT INTO orders VALUES (?, 1)', [key]);
      await conn.commit();
    });
    await expect(attempt).rejects.toThrow(/ended its transaction before the commit/);
    expect(await orderCount(key)).toBe(1);
    const delivered = await decidedByCheckBack(c, key);
    expect(delivered.status).not.toBe('CANCELLED');
    expect(delivered.confirmedAt).toBeDefined();
  });

  it('the check-back answers UNKNOWN, not ROLLBACK, for an absent key older than the local table keeps', async () => {
    const c = await producer();
    const committed = uniqueId('order');
    await c.withReliableMessage(orders.pool, { key: committed, topic, body: committed }, (conn) =>
      conn.query('INSERT INTO orders VALUES (?, 1)', [committed]),
    );
    const answer = localTableCheckBack(orders.pool, 8 * DAY);
    const nineDaysOld = { createdAt: Date.now() - 9 * DAY };
    // Asked days late (the service was down): its row may have been purged since it committed.
    expect(await answer(uniqueId('order'), nineDaysOld)).toBe('UNKNOWN');
    expect(await answer(committed, nineDaysOld)).toBe('COMMIT');
    expect(await answer(uniqueId('order'), { createdAt: Date.now() - 60_000 })).toBe('ROLLBACK');
    // A key that differs only in case is another message's: not committed.
    expect(await answer(committed.toUpperCase(), { createdAt: Date.now() - 60_000 })).toBe('ROLLBACK');
    // Asked by a run from before the service told the message's age.
    expect(await answer(uniqueId('order'), {})).toBe('ROLLBACK');
    // Purged by the producer's own schedule: it keeps its rows long enough.
    expect(await localTableCheckBack(orders.pool, false)(uniqueId('order'), nineDaysOld)).toBe('ROLLBACK');
  });

  it('a key this producer already committed is refused, and so is the same key with another body', async () => {
    const c = await producer();
    const key = uniqueId('order');
    await c.withReliableMessage(orders.pool, { key, topic, body: key }, (conn) =>
      conn.query('INSERT INTO orders VALUES (?, 1)', [key]),
    );
    await expect(
      c.withReliableMessage(orders.pool, { key, topic, body: key }, (conn) =>
        conn.query('INSERT INTO orders VALUES (?, 2)', [`${key}-x`]),
      ),
    ).rejects.toBeInstanceOf(KeyReusedError);
    expect(await orderCount(`${key}-x`)).toBe(0);

    const other = uniqueId('order');
    await c.prepare({ key: other, topic, body: 'first' });
    await expect(c.prepare({ key: other, topic, body: 'second' })).rejects.toBeInstanceOf(KeyConflictError);
    await expect(c.send({ key: other, topic, body: 'third' })).rejects.toBeInstanceOf(KeyConflictError);
    expect((await c.get(other)).status).toBe('WAITING_CONFIRM');
    expect((await c.prepare({ key: other, topic, body: 'first' })).created).toBe(false);
    await c.cancel(other, 'test done');
  });

  it('a connection lost right after COMMIT was sent never cancels: the check-back delivers the committed change', async () => {
    const c = await producer();
    const target = new URL(orders.url);
    const proxy = await CuttingProxy.start({ host: target.hostname, port: Number(target.port || 3306) });
    const viaProxy = mysql.createPool({
      host: '127.0.0.1',
      port: proxy.port,
      user: decodeURIComponent(target.username),
      password: decodeURIComponent(target.password),
      database: target.pathname.slice(1),
      connectionLimit: 2,
    });
    try {
      const key = uniqueId('order');
      proxy.cutAfterCommit = true;
      const attempt = c.withReliableMessage(viaProxy, { key, topic, body: key }, (conn) =>
        conn.query('INSERT INTO orders VALUES (?, 7)', [key]),
      );
      await expect(attempt).rejects.toBeInstanceOf(CommitOutcomeUnknownError);
      expect(await orderCount(key)).toBe(1);
      const delivered = await decidedByCheckBack(c, key);
      expect(delivered.status).not.toBe('CANCELLED');
      expect(delivered.confirmedAt).toBeDefined();
    } finally {
      await viaProxy.end();
      await proxy.close();
    }
  });
});
