import type { Pool } from 'mysql2/promise';

const created = new WeakMap<Pool, Set<string>>();

/**
 * Creates one of the SDKs' tables in a user's business database if it is missing, once per pool and
 * table (the SDKs call this on their first use of a pool).
 */
export async function ensureLocalTable(pool: Pool, table: string, columns: string): Promise<void> {
  const done = created.get(pool) ?? new Set<string>();
  if (done.has(table)) return;
  await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (${columns}) DEFAULT CHARSET=utf8mb4`);
  done.add(table);
  created.set(pool, done);
}
