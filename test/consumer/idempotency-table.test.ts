import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConsumedTable, markReported, pendingReports } from '../../src/consumer/idempotency.js';
import { type BusinessDb, createBusinessDb } from '../helpers/business-db.js';

let db: BusinessDb;

beforeAll(async () => {
  // The table as SDKs before report_pending made it, with one record in it.
  db = await createBusinessDb('consumed_upgrade', [
    `CREATE TABLE rmsg_consumed_message (
       message_key VARCHAR(191) NOT NULL,
       consumer_group VARCHAR(191) NOT NULL,
       consumed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
       PRIMARY KEY (message_key, consumer_group),
       KEY rmsg_consumed_message_consumed_at_idx (consumed_at)
     ) DEFAULT CHARSET=utf8mb4`,
    "INSERT INTO rmsg_consumed_message (message_key, consumer_group) VALUES ('old', 'stock')",
  ]);
});

afterAll(() => db?.drop());

describe('the idempotency table of an older SDK', () => {
  it('gets report_pending, and its old records are not re-reported', async () => {
    await ensureConsumedTable(db.pool);
    const [cols] = await db.pool.query<RowDataPacket[]>(
      "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'rmsg_consumed_message' AND COLUMN_NAME = 'report_pending'",
    );
    expect(cols).toHaveLength(1);
    // Its key and group columns compare exactly, as the service's names do.
    const [collations] = await db.pool.query<RowDataPacket[]>(
      "SELECT COLUMN_NAME AS name, COLLATION_NAME AS collation FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'rmsg_consumed_message' AND COLUMN_NAME IN ('message_key', 'consumer_group') ORDER BY COLUMN_NAME",
    );
    expect(collations.map((c) => [c.name, c.collation])).toEqual([
      ['consumer_group', 'utf8mb4_bin'],
      ['message_key', 'utf8mb4_bin'],
    ]);
    expect(await pendingReports(db.pool, 'stock', 10)).toEqual([]);

    await db.pool.query(
      "INSERT INTO rmsg_consumed_message (message_key, consumer_group, report_pending) VALUES ('new', 'stock', 1), ('other', 'audit', 1)",
    );
    expect(await pendingReports(db.pool, 'stock', 10)).toEqual(['new']);
    await markReported(db.pool, 'stock', ['new']);
    expect(await pendingReports(db.pool, 'stock', 10)).toEqual([]);
    expect(await pendingReports(db.pool, 'audit', 10)).toEqual(['other']);
  });
});
