import mysql, { type Pool } from 'mysql2/promise';
import { tempDatabase } from '../db/temp-database.js';

export interface BusinessDb {
  pool: Pool;
  /** mysql://… of this database, for another process. */
  url: string;
  drop(): Promise<void>;
}

/** A fresh business database (an upstream's or downstream's own), with a mysql2 pool on it. */
export async function createBusinessDb(prefix: string, schema: string[] = []): Promise<BusinessDb> {
  const db = tempDatabase(prefix);
  const server = await mysql.createConnection({ uri: new URL('/', db.url).toString() });
  await server.query(`CREATE DATABASE ${mysql.escapeId(db.name)}`);
  await server.end();
  const pool = mysql.createPool({ uri: db.url, connectionLimit: 5 });
  for (const ddl of schema) await pool.query(ddl);
  return {
    pool,
    url: db.url,
    async drop() {
      await pool.end();
      await db.drop();
    },
  };
}
