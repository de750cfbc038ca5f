import type { Pool, PoolConnection } from 'mysql2/promise';
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
 * business, commit, confirm. A throw rolls back and cancels. A failed confirm after commit is only
 * logged: the check-back finds the key and the message is delivered anyway.
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
  try {
    await conn.beginTransaction();
    await conn.query(`INSERT INTO ${LOCAL_MESSAGE_TABLE} (message_key, producer_group) VALUES (?, ?)`, [
      message.key,
      client.producerGroup,
    ]);
    await client.prepare(message);
    prepared = true;
    const result = await business(conn);
    await conn.commit();
    await client.confirm(message.key).catch((err: unknown) => {
      log.warn({ messageKey: message.key, err }, 'confirm failed after commit; the check-back will confirm it');
    });
    return result;
  } catch (err) {
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
}
