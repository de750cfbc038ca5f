import type { Pool, PoolConnection } from 'mysql2/promise';
import { CommitOutcomeUnknownError, KeyReusedError } from '../errors.js';
import { ensureLocalTable } from '../local-table-ddl.js';
import { deleteOlderThan } from '../local-table-purge.js';
import type { Logger } from '../logger.js';
import type { MessageInput, ReliableMessageClient } from './reliable-message-client.js';

/** The SDK's table in the user's business database (the seeds' @MqProducerStore). */
export const LOCAL_MESSAGE_TABLE = 'rmsg_producer_message';

export function ensureLocalMessageTable(pool: Pool): Promise<void> {
  return ensureLocalTable(
    pool,
    LOCAL_MESSAGE_TABLE,
    `message_key VARCHAR(191) NOT NULL PRIMARY KEY,
     producer_group VARCHAR(191) NOT NULL,
     created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
     KEY ${LOCAL_MESSAGE_TABLE}_created_at_idx (created_at)`,
  );
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
 * The local-transaction pattern: record the key in the business transaction *before* preparing (so
 * a check-back can never see "absent" while the transaction may still commit), prepare, run the
 * business, commit, release the connection, confirm.
 * - A key this producer already committed (its local row exists), or a message with the key that is no
 *   longer waiting for its confirm (say, cancelled by an earlier attempt), is refused before the business
 *   runs: KeyReusedError. Another spec under the key is a KeyConflictError.
 * - A throw before COMMIT rolls back and cancels. An error once COMMIT was sent never cancels: the commit may
 *   have landed, so the message waits and the check-back answers from the local table
 *   (CommitOutcomeUnknownError).
 * - A failed confirm after commit is only logged: the check-back finds the key and delivers it anyway.
 */
export async function runInLocalTransaction<T>(
  client: ReliableMessageClient,
  pool: Pool,
  message: MessageInput,
  business: (conn: PoolConnection) => Promise<T>,
  log: Logger,
): Promise<T> {
  await ensureLocalMessageTable(pool);
  const conn = await pool.getConnection();
  let prepared = false;
  let commitSent = false;
  let result: T;
  try {
    await conn.beginTransaction();
    await recordKey(conn, message.key, client.producerGroup);
    const { created } = await client.prepare(message);
    if (!created) await requireWaiting(client, message.key);
    prepared = true;
    result = await business(conn);
    commitSent = true;
    await conn.commit();
  } catch (err) {
    if (commitSent) {
      log.warn({ messageKey: message.key, err }, 'commit outcome unknown; the message waits for its check-back');
      throw new CommitOutcomeUnknownError(message.key, err);
    }
    await conn.rollback().catch(() => undefined);
    if (prepared) {
      const reason = `local transaction rolled back: ${err instanceof Error ? err.message : String(err)}`;
      await client.cancel(message.key, reason.slice(0, 500)).catch((cancelErr: unknown) => {
        log.warn(
          { messageKey: message.key, err: cancelErr },
          'cancel failed after rollback; the check-back will cancel it',
        );
      });
    }
    throw err;
  } finally {
    conn.release();
  }
  // The business connection goes back to the pool before the confirm: a slow service never holds it.
  await client.confirm(message.key).catch((err: unknown) => {
    log.warn({ messageKey: message.key, err }, 'confirm failed after commit; the check-back will confirm it');
  });
  return result;
}

async function recordKey(conn: PoolConnection, key: string, producerGroup: string): Promise<void> {
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

/** A message that already existed may take this business only while it still waits for its confirm. */
async function requireWaiting(client: ReliableMessageClient, key: string): Promise<void> {
  const { status, cancelReason } = await client.get(key);
  if (status === 'WAITING_CONFIRM') return;
  const why = status === 'CANCELLED' ? `it was cancelled (${cancelReason ?? 'no reason'})` : `it is ${status}`;
  throw new KeyReusedError(key, `key ${key} belongs to an earlier message and ${why}; use a new key`);
}
