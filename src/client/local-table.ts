import type { Pool, PoolConnection } from 'mysql2/promise';
import type { CheckBackAnswer, CheckBackContext } from '../../workflows/definitions.js';
import { KeyReusedError } from '../errors.js';
import { ensureLocalTable } from '../local-table-ddl.js';
import { deleteOlderThan } from '../local-table-purge.js';
import { rowExistsAfterWriters } from '../locking-read.js';

/**
 * The SDK's table in the producer's business database: the keys whose local transaction committed,
 * written in that transaction, so the check-back can tell a commit from a rollback after a crash.
 */
export const LOCAL_MESSAGE_TABLE = 'rmsg_producer_message';

export function ensureLocalMessageTable(pool: Pool): Promise<void> {
  return ensureLocalTable(pool, LOCAL_MESSAGE_TABLE, {
    exact: ['message_key VARCHAR(191) NOT NULL', 'producer_group VARCHAR(191) NOT NULL'],
    rest: `created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
     PRIMARY KEY (message_key),
     KEY ${LOCAL_MESSAGE_TABLE}_created_at_idx (created_at)`,
  });
}

/**
 * Deletes local-table rows older than `olderThanMs`; returns how many. `serveCheckBack(group, { pool })`
 * runs it daily; call it yourself to purge on your own schedule. Keep the retention well above the
 * confirm deadline: a check-back for a purged key would answer ROLLBACK.
 */
export async function purgeLocalMessages(pool: Pool, olderThanMs: number): Promise<number> {
  await ensureLocalMessageTable(pool);
  return deleteOlderThan(pool, LOCAL_MESSAGE_TABLE, 'created_at', olderThanMs);
}

/**
 * Records the key inside the business transaction, so it commits or rolls back with the business. A
 * key already there was committed by an earlier local transaction: KeyReusedError.
 */
export async function recordKey(conn: PoolConnection, key: string, producerGroup: string): Promise<void> {
  try {
    await conn.query(`INSERT INTO ${LOCAL_MESSAGE_TABLE} (message_key, producer_group) VALUES (?, ?)`, [
      key,
      producerGroup,
    ]);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ER_DUP_ENTRY') throw err;
    throw new KeyReusedError(key, `key ${key} was already used by a committed local transaction; use a new key`);
  }
}

/** How much sooner than its retention a row may be gone: the service's clock and the database's differ. */
const CLOCK_MARGIN_MS = 60 * 60_000;

/**
 * The producer check-back from the local table, purged after `retentionMs`: a key absent from it whose
 * message is older than that may have been committed and purged since (the service asks days late after
 * an outage of its own), so it is UNKNOWN, never ROLLBACK.
 */
export function localTableCheckBack(pool: Pool, retentionMs: number | false) {
  return async (key: string, told: Partial<CheckBackContext>): Promise<CheckBackAnswer> => {
    const answer = await wasCommitted(pool, key);
    const mayBePurged =
      retentionMs !== false &&
      told.createdAt !== undefined &&
      Date.now() - told.createdAt > retentionMs - CLOCK_MARGIN_MS;
    return answer === 'ROLLBACK' && mayBePurged ? 'UNKNOWN' : answer;
  };
}

/**
 * The producer check-back: did the local transaction with this key commit? The read takes a shared
 * lock, so while that transaction is open it waits for its outcome instead of answering ROLLBACK too
 * early; a lock wait that times out answers UNKNOWN (asked again later).
 */
async function wasCommitted(pool: Pool, key: string): Promise<CheckBackAnswer> {
  const found = await rowExistsAfterWriters(pool, `SELECT 1 FROM ${LOCAL_MESSAGE_TABLE} WHERE message_key = ?`, [key]);
  return found === 'TIMEOUT' ? 'UNKNOWN' : found ? 'COMMIT' : 'ROLLBACK';
}
