import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLocalMessageTable, LOCAL_MESSAGE_TABLE, purgeLocalMessages } from '../../src/client/local-table.js';
import { CONSUMED_TABLE, ensureConsumedTable, purgeConsumedMessages } from '../../src/consumer/idempotency.js';
import { startPurgeTimer } from '../../src/local-table-purge.js';
import { type BusinessDb, createBusinessDb } from '../helpers/business-db.js';
import { eventually } from '../helpers/service.js';
import { testLogger } from '../helpers/stack.js';

const DAY = 24 * 60 * 60_000;
let db: BusinessDb;

beforeAll(async () => {
  db = await createBusinessDb('purge');
  await ensureLocalMessageTable(db.pool);
  await ensureConsumedTable(db.pool);
});

afterAll(async () => {
  await db?.drop();
});

/** `count` rows named `${prefix}-n`, stamped `daysAgo` days before now (MariaDB's seq_1_to_N engine). */
async function fill(pool: Pool, table: string, prefix: string, count: number, daysAgo: number) {
  const [keyCol, groupCol, timeCol] =
    table === LOCAL_MESSAGE_TABLE
      ? ['message_key', 'producer_group', 'created_at']
      : ['message_key', 'consumer_group', 'consumed_at'];
  await pool.query(
    `INSERT INTO ${table} (${keyCol}, ${groupCol}, ${timeCol})
     SELECT CONCAT(?, '-', seq), 'g', NOW(3) - INTERVAL ? SECOND FROM seq_1_to_${count}`,
    [prefix, Math.round((daysAgo * DAY) / 1000)],
  );
}

async function keys(pool: Pool, table: string): Promise<string[]> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT message_key FROM ${table}`);
  return rows.map((r) => r.message_key as string).sort();
}

describe.each([
  { table: LOCAL_MESSAGE_TABLE, purge: purgeLocalMessages },
  { table: CONSUMED_TABLE, purge: purgeConsumedMessages },
])('purging $table', ({ table, purge }) => {
  it('deletes exactly the rows older than the retention, in batches', async () => {
    // More old rows than one DELETE batch (1000) takes.
    await fill(db.pool, table, 'old', 2500, 8);
    await fill(db.pool, table, 'edge', 3, 6.9);
    await fill(db.pool, table, 'new', 3, 0);
    expect(await purge(db.pool, 7 * DAY)).toBe(2500);
    expect(await keys(db.pool, table)).toEqual(['edge-1', 'edge-2', 'edge-3', 'new-1', 'new-2', 'new-3']);
    expect(await purge(db.pool, 7 * DAY)).toBe(0);
    expect(await purge(db.pool, DAY)).toBe(3);
    expect(await keys(db.pool, table)).toEqual(['new-1', 'new-2', 'new-3']);
  });
});

describe('purging the idempotency table', () => {
  it('keeps a consumption whose report the service has not received yet, however old', async () => {
    await fill(db.pool, CONSUMED_TABLE, 'unreported', 2, 8);
    await db.pool.query(`UPDATE ${CONSUMED_TABLE} SET report_pending = 1 WHERE message_key = 'unreported-1'`);
    await purgeConsumedMessages(db.pool, 7 * DAY);
    expect((await keys(db.pool, CONSUMED_TABLE)).filter((k) => k.startsWith('unreported'))).toEqual(['unreported-1']);
  });
});

describe('startPurgeTimer', () => {
  it('purges soon after start, then periodically, and stops', async () => {
    let runs = 0;
    const timer = startPurgeTimer(
      'test_table',
      async () => {
        runs += 1;
        return 0;
      },
      testLogger,
      { firstAfterMs: 10, everyMs: 30 },
    );
    await eventually(async () => runs >= 3, 5000, 'three purges');
    await timer.stop();
    const stoppedAt = runs;
    await new Promise((r) => setTimeout(r, 100));
    expect(runs).toBe(stoppedAt);
  });

  it('survives a failing purge', async () => {
    let runs = 0;
    const timer = startPurgeTimer(
      'test_table',
      async () => {
        runs += 1;
        throw new Error('database down');
      },
      testLogger,
      { firstAfterMs: 10, everyMs: 10 },
    );
    await eventually(async () => runs >= 2, 5000, 'a second purge after a failure');
    await timer.stop();
  });
});
