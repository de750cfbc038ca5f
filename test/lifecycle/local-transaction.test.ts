import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { CommitOutcomeUnknownError, KeyConflictError, KeyReusedError } from '../../src/errors.js';
import { type BusinessDb, createBusinessDb } from '../helpers/business-db.js';
import { CuttingProxy } from '../helpers/cutting-proxy.js';
import { connectTestClient, eventually, startTestService, type TestService } from '../helpers/service.js';
import { freshTopic, uniqueId } from '../helpers/stack.js';

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

const orderCount = async (id: string) => {
  const [rows] = await orders.pool.query('SELECT COUNT(*) AS n FROM orders WHERE id = ?', [id]);
  return Number((rows as { n: number }[])[0]?.n);
};

beforeAll(async () => {
  service = await startTestService();
  topic = await freshTopic('local-tx');
  orders = await createBusinessDb('ltx', ['CREATE TABLE orders (id VARCHAR(64) PRIMARY KEY, amount INT NOT NULL)']);
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
      const delivered = await eventually(
        async () => {
          const s = await c.get(key);
          return s.status !== 'WAITING_CONFIRM' && s;
        },
        20_000,
        'the check-back to decide',
      );
      expect(delivered.status).not.toBe('CANCELLED');
      expect(delivered.confirmedAt).toBeDefined();
    } finally {
      await viaProxy.end();
      await proxy.close();
    }
  });
});
