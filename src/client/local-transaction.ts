import type { Pool, PoolConnection } from 'mysql2/promise';
import type { MessageState } from '../../workflows/definitions.js';
import { CommitOutcomeUnknownError, InvalidTransitionError, KeyReusedError } from '../errors.js';
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
 * - A throw before COMMIT cancels, then rolls back (cancelHoldingTheKey). An error once COMMIT was sent
 *   never cancels: the commit may have landed, so the message waits and the check-back answers from the
 *   local table (CommitOutcomeUnknownError). So does a business that ended the transaction itself.
 * - A failed confirm after commit is only logged: the check-back finds the key and delivers it anyway. A
 *   refused one (the message ended meanwhile) is logged as an error: nothing will deliver it.
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
  let mayHaveCommitted = false;
  let result: T;
  try {
    await conn.beginTransaction();
    await recordKey(conn, message.key, client.producerGroup);
    const { created } = await client.prepare(message);
    if (!created) await requireWaiting(client, message.key);
    prepared = true;
    await conn.query(`SAVEPOINT ${BUSINESS}`);
    result = await business(conn);
    // From here the outcome may be the server's: a business that ended its transaction itself may have
    // committed it, and a COMMIT whose answer is lost may have landed. Never cancelled then.
    mayHaveCommitted = true;
    await requireOpenTransaction(conn);
    await conn.commit();
  } catch (err) {
    if (mayHaveCommitted) {
      log.warn({ messageKey: message.key, err }, 'commit outcome unknown; the message waits for its check-back');
      throw new CommitOutcomeUnknownError(message.key, err);
    }
    if (prepared) await cancelHoldingTheKey(client, conn, message.key, err, log);
    await conn.rollback().catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
  // The business connection goes back to the pool before the confirm: a slow service never holds it.
  await client.confirm(message.key).catch((err: unknown) => {
    // Refused (an operator cancelled it meanwhile): no check-back asks about a message that ended.
    if (err instanceof InvalidTransitionError)
      log.error({ messageKey: message.key, err }, 'the business committed but its message refused the confirm');
    else log.warn({ messageKey: message.key, err }, 'confirm failed after commit; the check-back will confirm it');
  });
  return result;
}

/** Where the business starts: a rollback to it keeps the key's local row, and so its lock. */
const BUSINESS = 'rmsg_business';

/**
 * Cancels a message whose business failed while its transaction still holds the key's local row: another
 * attempt with the key waits on that row until the cancel landed, and is then refused (the message is
 * cancelled) instead of committing a business whose confirm the cancel would refuse. A transaction the
 * business lost (a deadlock rolls it all back, or its connection) holds nothing: no cancel then, the
 * check-back answers from the local table, whichever attempt committed. InnoDB keeps the business's row
 * locks past a rollback to a savepoint, so they too are held until the cancel answers.
 */
async function cancelHoldingTheKey(
  client: LocalTransactionCalls<{ key: string }>,
  conn: PoolConnection,
  key: string,
  err: unknown,
  log: Logger,
): Promise<void> {
  try {
    await conn.query(`ROLLBACK TO SAVEPOINT ${BUSINESS}`);
  } catch (lost) {
    log.warn({ messageKey: key, err: lost }, 'the transaction was lost before its cancel; the check-back will decide');
    return;
  }
  const reason = `local transaction rolled back: ${err instanceof Error ? err.message : String(err)}`;
  await client.cancel(key, reason.slice(0, 500)).catch((cancelErr: unknown) => {
    log.warn({ messageKey: key, err: cancelErr }, 'cancel failed after rollback; the check-back will cancel it');
  });
}

/**
 * Fails when the business ended its transaction before the SDK's COMMIT: a deadlock it caught rolled all
 * of it back (the key's row too) and what it wrote after ran in autocommit, or it committed or rolled back
 * itself. Its savepoint is gone in each case. Confirming then could publish a business that never
 * committed; the check-back answers from the local table instead.
 */
async function requireOpenTransaction(conn: PoolConnection): Promise<void> {
  try {
    await conn.query(`RELEASE SAVEPOINT ${BUSINESS}`);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ER_SP_DOES_NOT_EXIST') throw err;
    throw new Error(
      'the business ended its transaction before the commit (a deadlock it caught, or its own commit or ' +
        'rollback); let transaction errors through and leave the commit to the SDK',
    );
  }
}

/** A message that already existed may take this business only while it still waits for its confirm. */
async function requireWaiting(client: LocalTransactionCalls<{ key: string }>, key: string): Promise<void> {
  const { status, cancelReason } = await client.get(key);
  if (status === 'WAITING_CONFIRM') return;
  const why = status === 'CANCELLED' ? `it was cancelled (${cancelReason ?? 'no reason'})` : `it is ${status}`;
  throw new KeyReusedError(key, `key ${key} belongs to an earlier message and ${why}; use a new key`);
}
