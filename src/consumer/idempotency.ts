import type { Pool, PoolConnection } from 'mysql2/promise';
import type { ConsumerCheckBackAnswer } from '../../workflows/definitions.js';
import { ensureLocalTable } from '../local-table-ddl.js';
import { deleteOlderThan } from '../local-table-purge.js';
import { rowExistsAfterWriters } from '../locking-read.js';

/** The SDK's table in the consumer's business database: (key, group) pairs whose effect committed. */
export const CONSUMED_TABLE = 'rmsg_consumed_message';

export function ensureConsumedTable(pool: Pool): Promise<void> {
  return ensureLocalTable(
    pool,
    CONSUMED_TABLE,
    `message_key VARCHAR(191) NOT NULL,
     consumer_group VARCHAR(191) NOT NULL,
     consumed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
     PRIMARY KEY (message_key, consumer_group),
     KEY ${CONSUMED_TABLE}_consumed_at_idx (consumed_at)`,
  );
}

/**
 * Deletes consumed records older than `olderThanMs`; returns how many. A ReliableConsumer with
 * idempotency runs it daily; call it yourself to purge on your own schedule. Keep the retention above
 * how long a message may stay undelivered (DEAD until an operator resends): a redelivery of a purged
 * key runs the handler again.
 */
export async function purgeConsumedMessages(pool: Pool, olderThanMs: number): Promise<number> {
  await ensureConsumedTable(pool);
  return deleteOlderThan(pool, CONSUMED_TABLE, 'consumed_at', olderThanMs);
}

/**
 * Claims (key, group) inside the handler's transaction. False when it was already consumed: the
 * handler must not run again. Commit makes the claim and the business effect land together.
 */
export async function claimConsumption(conn: PoolConnection, key: string, group: string): Promise<boolean> {
  try {
    await conn.query(`INSERT INTO ${CONSUMED_TABLE} (message_key, consumer_group) VALUES (?, ?)`, [key, group]);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_DUP_ENTRY') return false;
    throw err;
  }
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
