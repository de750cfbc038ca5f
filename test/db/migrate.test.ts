import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../src/db/migrate.js';
import { type TempDatabase, tempDatabase } from './temp-database.js';

/** applyMigrations' safety rules, on throwaway databases and migration folders. */
describe('applyMigrations', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function database(): TempDatabase {
    const db = tempDatabase('rmsg_migrate_test');
    cleanups.push(() => db.drop());
    return db;
  }

  function migrationsDir(migrations: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'rmsg-migrations-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    for (const [name, sql] of Object.entries(migrations)) writeMigration(dir, name, sql);
    return dir;
  }

  function writeMigration(dir: string, name: string, sql: string): void {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'migration.sql'), sql);
  }

  it('is safe when two processes migrate the same new database at once', async () => {
    const db = database();
    const results = await Promise.all([applyMigrations(db.url), applyMigrations(db.url)]);
    const counts = results.map((r) => r.applied.length).sort();
    expect(counts[0]).toBe(0);
    expect(counts[1]).toBeGreaterThan(0);
  });

  it('refuses to run when an applied migration was edited', async () => {
    const db = database();
    const dir = migrationsDir({ '0001_first': 'CREATE TABLE t1 (id INT PRIMARY KEY);' });
    expect((await applyMigrations(db.url, { migrationsDir: dir })).applied).toEqual(['0001_first']);
    writeMigration(dir, '0001_first', 'CREATE TABLE t1 (id BIGINT PRIMARY KEY);');
    await expect(applyMigrations(db.url, { migrationsDir: dir })).rejects.toThrow(/0001_first was modified/);
  });

  it('records a failed migration and refuses to continue past it', async () => {
    const db = database();
    const dir = migrationsDir({
      '0001_ok': 'CREATE TABLE t1 (id INT PRIMARY KEY);',
      '0002_bad': 'CREATE TABLE t2 (id INT PRIMARY KEY);\nTHIS IS NOT SQL;',
    });
    await expect(applyMigrations(db.url, { migrationsDir: dir })).rejects.toThrow(/0002_bad failed/);

    const conn = await mysql.createConnection({ uri: db.url });
    try {
      const [rows] = await conn.query<RowDataPacket[]>(
        'SELECT migration_name, finished_at, logs, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
      );
      expect(rows.map((r) => [r.migration_name, r.finished_at === null, r.applied_steps_count])).toEqual([
        ['0001_ok', false, 1],
        ['0002_bad', true, 0],
      ]);
      expect(rows[1]?.logs).toMatch(/syntax/i);
    } finally {
      await conn.end();
    }

    writeMigration(dir, '0002_bad', 'CREATE TABLE t2 (id INT PRIMARY KEY);');
    await expect(applyMigrations(db.url, { migrationsDir: dir })).rejects.toThrow(/0002_bad failed or was interrupted/);
  });
});
