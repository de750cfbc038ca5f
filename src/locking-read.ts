import type { Pool, RowDataPacket } from 'mysql2/promise';

/**
 * Whether a row exists, read with a shared lock: while a transaction that is inserting it is still
 * open, this waits for its outcome instead of answering "absent" too early. Check-backs rely on it.
 * Returns 'TIMEOUT' when the wait exceeds `lockWaitSeconds` (the caller answers UNKNOWN and is asked
 * again later). The pooled connection's session is restored before it goes back to the user's pool.
 */
export async function rowExistsAfterWriters(
  pool: Pool,
  sql: string,
  params: unknown[],
  lockWaitSeconds = 5,
): Promise<boolean | 'TIMEOUT'> {
  const conn = await pool.getConnection();
  try {
    await conn.query('SET SESSION innodb_lock_wait_timeout = ?', [lockWaitSeconds]);
    const [rows] = await conn.query<RowDataPacket[]>(`${sql} LOCK IN SHARE MODE`, params);
    return rows.length > 0;
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_LOCK_WAIT_TIMEOUT') return 'TIMEOUT';
    throw err;
  } finally {
    await conn.query('SET SESSION innodb_lock_wait_timeout = DEFAULT').then(
      () => conn.release(),
      () => conn.destroy(),
    );
  }
}
