import type { Pool, RowDataPacket } from 'mysql2/promise';

const created = new WeakMap<Pool, Set<string>>();

/** A column added to a local table after its first release: tables made by older SDKs get it too. */
export interface AddedColumn {
  name: string;
  /** The ALTER TABLE clauses that add it (its column, and any index on it). */
  alter: string;
}

/**
 * Creates one of the SDKs' tables in a user's business database if it is missing, and adds columns
 * a newer SDK needs to a table an older one made; once per pool and table (the SDKs call this on
 * their first use of a pool).
 */
export async function ensureLocalTable(
  pool: Pool,
  table: string,
  columns: string,
  added: AddedColumn[] = [],
): Promise<void> {
  const done = created.get(pool) ?? new Set<string>();
  if (done.has(table)) return;
  await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (${columns}) DEFAULT CHARSET=utf8mb4`);
  if (added.length > 0) {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [table],
    );
    const present = new Set(rows.map((r) => String(r.name).toLowerCase()));
    for (const column of added) {
      if (present.has(column.name.toLowerCase())) continue;
      await pool.query(`ALTER TABLE ${table} ${column.alter}`).catch((err: { code?: string }) => {
        // Another process of the same application added it at the same moment.
        if (err.code !== 'ER_DUP_FIELDNAME' && err.code !== 'ER_DUP_KEYNAME') throw err;
      });
    }
  }
  done.add(table);
  created.set(pool, done);
}
