import type { Pool, PoolConnection } from 'mysql2/promise';

const LOCKS = 'rmsg_test_lock';
const BULK = 'rmsg_test_bulk';

/** The two tables `loseADeadlock` uses; made beforehand, since DDL inside a transaction commits it. */
export async function createDeadlockTables(pool: Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS ${LOCKS} (id CHAR(1) PRIMARY KEY, v INT NOT NULL)`);
  await pool.query(`INSERT IGNORE INTO ${LOCKS} VALUES ('a', 0), ('b', 0)`);
  await pool.query(`CREATE TABLE IF NOT EXISTS ${BULK} (id INT AUTO_INCREMENT PRIMARY KEY)`);
}

/**
 * Makes `conn`'s transaction the victim of a real InnoDB deadlock, which rolls all of it back, and returns
 * the error its statement got (for the caller to swallow, as a careless business does). The other
 * transaction wrote more rows first, so InnoDB picks `conn`'s, the lighter, to roll back.
 */
export async function loseADeadlock(conn: PoolConnection, pool: Pool): Promise<{ code?: string }> {
  const other = await pool.getConnection();
  try {
    await other.beginTransaction();
    for (let i = 0; i < 20; i++) await other.query(`INSERT INTO ${BULK} () VALUES ()`);
    await conn.query(`UPDATE ${LOCKS} SET v = v + 1 WHERE id = 'a'`);
    await other.query(`UPDATE ${LOCKS} SET v = v + 1 WHERE id = 'b'`);
    const otherWaits = other.query(`UPDATE ${LOCKS} SET v = v + 1 WHERE id = 'a'`);
    const lost = await conn.query(`UPDATE ${LOCKS} SET v = v + 1 WHERE id = 'b'`).then(
      () => ({ code: 'no deadlock' }),
      (err: { code?: string }) => err,
    );
    await otherWaits;
    await other.rollback();
    return lost;
  } finally {
    other.release();
  }
}
