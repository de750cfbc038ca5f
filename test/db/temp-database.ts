import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { loadConfig } from '../../src/config.js';

/** A uniquely named database on the configured server, for tests that need an empty schema. */
export interface TempDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export function tempDatabase(prefix: string): TempDatabase {
  const base = new URL(loadConfig().databaseUrl);
  const name = `${prefix}_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const server = new URL(base);
      server.pathname = '/';
      const conn = await mysql.createConnection({ uri: server.toString() });
      try {
        await conn.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(name)}`);
      } finally {
        await conn.end();
      }
    },
  };
}
