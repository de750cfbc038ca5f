import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { ConsumerCheckBackAnswer } from '../../workflows/definitions.js';
import { ensureLocalTable } from '../local-table-ddl.js';
import { deleteOlderThan } from '../local-table-purge.js';
import { rowExistsAfterWriters } from '../locking-read.js';

/**
 * The SDK's table in the consumer's business database: (key, group) pairs whose effect committed.
 * `report_pending` is 1 until the service has the CONSUMED report, so a consumer that stopped (or
 * died) during a Temporal outage sends it after its restart.
 */
export const CONSUMED_TABLE = 'rmsg_consumed_message';
const PENDING_INDEX = `${CONSUMED_TABLE}_report_pending_idx`;

export function ensureConsumedTable(pool: Pool): Promise<void> {
  return ensureLocalTable(pool, CONSUMED_TABLE, {
    exact: ['message_key VARCHAR(191) NOT NULL', 'consumer_group VARCHAR(191) NOT NULL'],
    rest: `consumed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
     report_pending TINYINT NOT NULL DEFAULT 0,
     PRIMARY KEY (message_key, consumer_group),
     KEY ${CONSUMED_TABLE}_consumed_at_idx (consumed_at),
     KEY ${PENDING_INDEX} (consumer_group, report_pending)`,
    added: [
      {
        // Rows of older SDKs were reported (or lost) long ago: 0, not re-reported.
        name: 'report_pending',
        alter: `ADD COLUMN report_pending TINYINT NOT NULL DEFAULT 0, ADD KEY ${PENDING_INDEX} (consumer_group, report_pending)`,
      },
    ],
  });
}

/**
 * Deletes consumed records older than `olderThanMs` whose report the service received; returns how
 * many. A ReliableConsumer with idempotency runs it daily; call it yourself to purge on your own
 * schedule. Keep the retention above how long a message may stay undelivered (DEAD until an operator
 * resends): a redelivery of a purged key runs the handler again.
 */
export async function purgeConsumedMessages(pool: Pool, olderThanMs: number): Promise<number> {
  await ensureConsumedTable(pool);
  // A consumption the service has not heard of yet stays: its report is sent from here (after a restart
  // through a long Temporal outage), and without the record a redelivery would run the handler again.
  return deleteOlderThan(pool, CONSUMED_TABLE, 'consumed_at', olderThanMs, { onlyWhere: 'report_pending = 0' });
}

/**
 * Claims (key, group) inside the handler's transaction. False when it was already consumed: the
 * handler must not run again. Commit makes the claim and the business effect land together.
 */
export async function claimConsumption(conn: PoolConnection, key: string, group: string): Promise<boolean> {
  try {
    await conn.query(`INSERT INTO ${CONSUMED_TABLE} (message_key, consumer_group, report_pending) VALUES (?, ?, 1)`, [
      key,
      group,
    ]);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_DUP_ENTRY') return false;
    throw err;
  }
}

/** The server's status flag for "a transaction is open" (MySQL and MariaDB alike). */
const SERVER_STATUS_IN_TRANS = 1;

/**
 * Whether the claim is still this open transaction's, asked just before its COMMIT. A deadlock rolls the
 * whole transaction back, the claim with it; a handler that catches that error (or commits or rolls back
 * itself) goes on in autocommit, and a COMMIT then would report a consumption whose effect is partial.
 * One statement answers both: the claim row is there, and the server says a transaction is open.
 */
export async function claimStillOpen(conn: PoolConnection, key: string, group: string): Promise<boolean> {
  const [touched] = await conn.query<ResultSetHeader>(
    `UPDATE ${CONSUMED_TABLE} SET report_pending = 1 WHERE message_key = ? AND consumer_group = ?`,
    [key, group],
  );
  return touched.affectedRows === 1 && (touched.serverStatus & SERVER_STATUS_IN_TRANS) !== 0;
}

/**
 * The consumer check-back: did this group's business effect for the key commit? A locking read, so
 * a transaction still in flight is waited for rather than answered NOT_CONSUMED.
 */
export async function wasConsumed(pool: Pool, key: string, group: string): Promise<ConsumerCheckBackAnswer> {
  const found = await rowExistsAfterWriters(
    pool,
    `SELECT 1 FROM ${CONSUMED_TABLE} WHERE message_key = ? AND consumer_group = ?`,
    [key, group],
  );
  return found === 'TIMEOUT' ? 'UNKNOWN' : found ? 'CONSUMED' : 'NOT_CONSUMED';
}

/** The service has these keys' CONSUMED reports (or their workflows are closed): nothing left to send. */
export async function markReported(pool: Pool, group: string, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await pool.query(
    `UPDATE ${CONSUMED_TABLE} SET report_pending = 0 WHERE consumer_group = ? AND message_key IN (?) AND report_pending = 1`,
    [group, keys],
  );
}

/** Keys whose effect committed but whose CONSUMED report the service may not have, oldest first. */
export async function pendingReports(pool: Pool, group: string, limit: number): Promise<string[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT message_key FROM ${CONSUMED_TABLE} WHERE consumer_group = ? AND report_pending = 1 ORDER BY consumed_at LIMIT ?`,
    [group, limit],
  );
  return rows.map((r) => String(r.message_key));
}
