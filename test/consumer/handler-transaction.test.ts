import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHandler } from '../../src/consumer/handler-run.js';
import { ensureConsumedTable } from '../../src/consumer/idempotency.js';
import type { MessageHandler } from '../../src/consumer/options.js';
import { type BusinessDb, createBusinessDb } from '../helpers/business-db.js';
import { createDeadlockTables, loseADeadlock } from '../helpers/deadlock.js';
import { testLogger, uniqueId } from '../helpers/stack.js';

let db: BusinessDb;

beforeAll(async () => {
  db = await createBusinessDb('handler_tx', [
    'CREATE TABLE stock (order_id VARCHAR(64) COLLATE utf8mb4_bin PRIMARY KEY)',
  ]);
  await ensureConsumedTable(db.pool);
  await createDeadlockTables(db.pool);
});

afterAll(() => db?.drop());

const run = (key: string, handler: MessageHandler) =>
  runHandler({
    handler,
    message: { key, topic: 't', body: key, properties: {}, messageId: `m-${key}`, round: 1 },
    ctx: { group: 'stock', attempt: 1 },
    pool: db.pool,
    timeoutMs: 30_000,
    stopping: new AbortController().signal,
    log: testLogger,
  });

const count = async (sql: string, params: string[]) => (await db.pool.query<RowDataPacket[]>(sql, params))[0].length;
const claimed = (key: string) =>
  count('SELECT 1 FROM rmsg_consumed_message WHERE message_key = ? AND consumer_group = ?', [key, 'stock']);
const reserved = (key: string) => count('SELECT 1 FROM stock WHERE order_id = ?', [key]);

describe("a handler's idempotency transaction", () => {
  it('lost to a deadlock the handler swallowed is not a consumption: the delivery fails and the claim is gone', async () => {
    const key = uniqueId('order');
    let deadlock: { code?: string } | undefined;
    const handling = run(key, async (m, { conn }) => {
      await conn?.query('INSERT INTO stock VALUES (?)', [m.key]);
      deadlock = await loseADeadlock(conn!, db.pool); // swallowed: the handler goes on as if nothing happened
    });
    await expect(handling).rejects.toThrow(/ended before its commit/);
    expect(deadlock?.code).toBe('ER_LOCK_DEADLOCK');
    // The redelivery finds no claim, so its handler runs again and makes the effect whole.
    expect(await claimed(key)).toBe(0);
    expect(await reserved(key)).toBe(0);
  });

  it('rolled back by the handler itself is not a consumption', async () => {
    const key = uniqueId('order');
    const handling = run(key, async (m, { conn }) => {
      await conn?.query('INSERT INTO stock VALUES (?)', [m.key]);
      await conn?.rollback();
    });
    await expect(handling).rejects.toThrow(/ended before its commit/);
    expect(await claimed(key)).toBe(0);
  });

  it('committed by the handler itself fails the delivery too; the claim it committed makes the redelivery a consumption', async () => {
    const key = uniqueId('order');
    const handling = run(key, async (m, { conn }) => {
      await conn?.query('INSERT INTO stock VALUES (?)', [m.key]);
      await conn?.commit();
    });
    await expect(handling).rejects.toThrow(/ended before its commit/);
    expect(await claimed(key)).toBe(1);
    let handledAgain = false;
    await run(key, async () => {
      handledAgain = true;
    });
    expect(handledAgain).toBe(false);
  });

  it('claims keys exactly: a key that differs only in case is another message, and its handler runs', async () => {
    const key = `${uniqueId('Order')}-A`;
    const handled: string[] = [];
    for (const k of [key, key.toLowerCase()]) {
      await run(k, async (m, { conn }) => {
        await conn?.query('INSERT INTO stock VALUES (?)', [m.key]);
        handled.push(m.key);
      });
    }
    expect(handled).toEqual([key, key.toLowerCase()]);
  });

  it('left open by the handler commits the claim and the effect together', async () => {
    const key = uniqueId('order');
    await run(key, async (m, { conn }) => {
      await conn?.query('INSERT INTO stock VALUES (?)', [m.key]);
    });
    expect([await claimed(key), await reserved(key)]).toEqual([1, 1]);
  });
});
