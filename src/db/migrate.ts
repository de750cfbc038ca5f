import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { PROJECT_ROOT } from '../paths.js';
import { type DatabaseTls, databaseSsl } from './tls.js';

/**
 * Applies prisma/migrations/<name>/migration.sql in name order and records them in
 * `_prisma_migrations` exactly as `prisma migrate deploy` does. We cannot run the Prisma CLI's
 * native schema engine offline, but keeping its bookkeeping lets anyone with the real engine keep
 * using `prisma migrate deploy` / `migrate status` on the same database.
 */

export const DEFAULT_MIGRATIONS_DIR = join(PROJECT_ROOT, 'prisma', 'migrations');

/** The same advisory lock name the Prisma schema engine takes, so we also exclude a concurrent real deploy. */
const LOCK_NAME = 'prisma_migrate';
const LOCK_TIMEOUT_S = 60;

// Prisma's own DDL for its bookkeeping table on MySQL.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS \`_prisma_migrations\` (
    \`id\` VARCHAR(36) NOT NULL,
    \`checksum\` VARCHAR(64) NOT NULL,
    \`finished_at\` DATETIME(3) NULL,
    \`migration_name\` VARCHAR(255) NOT NULL,
    \`logs\` TEXT NULL,
    \`rolled_back_at\` DATETIME(3) NULL,
    \`started_at\` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    \`applied_steps_count\` INTEGER UNSIGNED NOT NULL DEFAULT 0,

    PRIMARY KEY (\`id\`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`;

export interface ApplyOptions {
  log?: (message: string) => void;
  migrationsDir?: string;
  /** TLS to a managed MySQL (config.databaseTls). */
  tls?: DatabaseTls;
}

export interface ApplyResult {
  /** Names of the migrations applied by this call, in order (empty when up to date). */
  applied: string[];
}

interface LocalMigration {
  name: string;
  sql: string;
  checksum: string;
}

interface AppliedRow extends RowDataPacket {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

export async function applyMigrations(databaseUrl: string, options: ApplyOptions = {}): Promise<ApplyResult> {
  const log = options.log ?? (() => {});
  const local = await readLocalMigrations(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  const ssl = databaseSsl(options.tls);
  await createDatabaseIfMissing(databaseUrl, ssl);

  const conn = await mysql.createConnection({ uri: databaseUrl, multipleStatements: true, ssl });
  try {
    return await withNamedLock(conn, async () => {
      await conn.query(CREATE_MIGRATIONS_TABLE);
      const applied = await appliedMigrations(conn);
      const done: string[] = [];
      for (const migration of local) {
        const row = applied.get(migration.name);
        if (row) {
          checkApplied(migration, row);
          continue;
        }
        log(`applying migration ${migration.name}`);
        await applyOne(conn, migration);
        done.push(migration.name);
      }
      for (const name of applied.keys()) {
        if (!local.some((m) => m.name === name)) log(`migration ${name} is applied but not in the migrations folder`);
      }
      return { applied: done };
    });
  } finally {
    await conn.end();
  }
}

async function readLocalMigrations(dir: string): Promise<LocalMigration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(join(dir, name, 'migration.sql'));
      // Prisma's checksum: sha256 of the file bytes, lowercase hex.
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    }),
  );
}

async function createDatabaseIfMissing(databaseUrl: string, ssl: ReturnType<typeof databaseSsl>): Promise<void> {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new Error(`database URL has no database name: ${url.protocol}//${url.host}`);
  url.pathname = '/';
  const conn = await mysql.createConnection({ uri: url.toString(), ssl });
  try {
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await conn.end();
  }
}

async function withNamedLock<T>(conn: Connection, fn: () => Promise<T>): Promise<T> {
  const [rows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [LOCK_NAME, LOCK_TIMEOUT_S]);
  if (rows[0]?.got !== 1) throw new Error(`could not take the migration lock '${LOCK_NAME}' within ${LOCK_TIMEOUT_S}s`);
  try {
    return await fn();
  } finally {
    await conn.query('SELECT RELEASE_LOCK(?)', [LOCK_NAME]);
  }
}

/** Rows that count as applied or failed; rolled-back rows are ignored, as Prisma does. */
async function appliedMigrations(conn: Connection): Promise<Map<string, AppliedRow>> {
  const [rows] = await conn.query<AppliedRow[]>(
    'SELECT migration_name, checksum, finished_at FROM _prisma_migrations WHERE rolled_back_at IS NULL ORDER BY started_at',
  );
  return new Map(rows.map((r) => [r.migration_name, r]));
}

function checkApplied(migration: LocalMigration, row: AppliedRow): void {
  if (row.finished_at === null) {
    throw new Error(
      `migration ${migration.name} failed or was interrupted earlier (finished_at is NULL in _prisma_migrations); ` +
        'fix the database, then delete that row (or mark it rolled back) before migrating again',
    );
  }
  if (row.checksum !== migration.checksum) {
    throw new Error(
      `migration ${migration.name} was modified after it was applied ` +
        `(checksum ${row.checksum} in _prisma_migrations, ${migration.checksum} on disk); add a new migration instead`,
    );
  }
}

async function applyOne(conn: Connection, migration: LocalMigration): Promise<void> {
  const id = randomUUID();
  await conn.query(
    'INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, NOW(3), 0)',
    [id, migration.checksum, migration.name],
  );
  try {
    await conn.query(migration.sql);
  } catch (err) {
    // Like Prisma: keep the row with finished_at NULL and the error in logs, so the next run refuses.
    const message = err instanceof Error ? err.message : String(err);
    await conn.query('UPDATE _prisma_migrations SET logs = ? WHERE id = ?', [message, id]);
    throw new Error(`migration ${migration.name} failed: ${message}`, { cause: err });
  }
  await conn.query('UPDATE _prisma_migrations SET finished_at = NOW(3), applied_steps_count = 1 WHERE id = ?', [id]);
}
