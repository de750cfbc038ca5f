import type { Pool, PoolConnection } from 'mysql2/promise';
import type { MessageState } from '../../workflows/definitions.js';
import { CommitOutcomeUnknownError, KeyReusedError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ensureLocalMessageTable, recordKey } from './local-table.js';

/** The message calls the local transaction makes (the producer SDK's client). */
export interface LocalTransactionCalls<M extends { key: string }> {
  readonly producerGroup: string;
  prepare(message: M): Promise<{ created: boolean }>;
  get(key: string): Promise<MessageState>;
  confirm(key: string): Promise<unknown>;
  cancel(key: string, reason: string): Promise<unknown>;
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
export async function runInLocalTransaction<M extends { key: string }, T>(
  client: LocalTransactionCalls<M>,
  pool: Pool,
  message: M,
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

/** A message that already existed may take this business only while it still waits for its confirm. */
async function requireWaiting(client: LocalTransactionCalls<{ key: string }>, key: string): Promise<void> {
  const { status, cancelReason } = await client.get(key);
  if (status === 'WAITING_CONFIRM') return;
  const why = status === 'CANCELLED' ? `it was cancelled (${cancelReason ?? 'no reason'})` : `it is ${status}`;
  throw new KeyReusedError(key, `key ${key} belongs to an earlier message and ${why}; use a new key`);
}
