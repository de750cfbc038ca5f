import type { Pool, RowDataPacket } from 'mysql2/promise';

const created = new WeakMap<Pool, Set<string>>();

/** A column added to a local table after its first release: tables made by older SDKs get it too. */
export interface AddedColumn {
  name: string;
  /** The ALTER TABLE clauses that add it (its column, and any index on it). */
  alter: string;
}

/** One of the SDKs' tables: its columns, and what tables of older SDKs need to catch up. */
export interface LocalTableSpec {
  /**
   * Key and name columns (`message_key VARCHAR(191) NOT NULL`): compared exactly, as the service compares
   * them (a key that differs only in case is another message). Made so, and converted in tables of
   * older SDKs, which compared them as the database's default collation does, ignoring case.
   */
  exact: string[];
  /** The other columns and the indexes. */
  rest: string;
  added?: AddedColumn[];
}

const EXACT = 'utf8mb4_bin';

/**
 * Creates one of the SDKs' tables in a user's business database if it is missing, and brings a table an
 * older SDK made up to date (added columns, exact key columns); once per pool and table (the SDKs call
 * this on their first use of a pool).
 */
export async function ensureLocalTable(pool: Pool, table: string, spec: LocalTableSpec): Promise<void> {
  const done = created.get(pool) ?? new Set<string>();
  if (done.has(table)) return;
  const exact = spec.exact.map((column) => `${column} COLLATE ${EXACT}`);
  await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (${[...exact, spec.rest].join(', ')}) DEFAULT CHARSET=utf8mb4`);
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT COLUMN_NAME AS name, COLLATION_NAME AS collation FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [table],
  );
  const present = new Map(rows.map((r) => [String(r.name).toLowerCase(), r.collation as string | null]));
  for (const column of spec.added ?? []) {
    if (present.has(column.name.toLowerCase())) continue;
    await pool.query(`ALTER TABLE ${table} ${column.alter}`).catch((err: { code?: string }) => {
      // Another process of the same application added it at the same moment.
      if (err.code !== 'ER_DUP_FIELDNAME' && err.code !== 'ER_DUP_KEYNAME') throw err;
    });
  }
  const inexact = exact.filter((column) => present.get(nameOf(column)) !== EXACT);
  // Keys told apart only by case cannot be in such a table yet: its unique keys refused them.
  if (inexact.length > 0) await pool.query(`ALTER TABLE ${table} ${inexact.map((c) => `MODIFY ${c}`).join(', ')}`);
  done.add(table);
  created.set(pool, done);
}

const nameOf = (column: string) => (column.split(/\s/, 1)[0] ?? '').toLowerCase();
