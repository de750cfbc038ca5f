import mysql, { type Pool } from 'mysql2/promise';
import { type DatabaseTls, databaseSsl } from './tls.js';

/**
 * A plain mysql2 pool for the worker's hot path (projection writes, subscriber snapshots): text queries
 * that may carry several statements, no prepared statement or health ping per query as under Prisma.
 */
export function hotPathPool(databaseUrl: string, tls: DatabaseTls | undefined, connectionLimit: number): Pool {
  return mysql.createPool({
    uri: databaseUrl,
    ssl: databaseSsl(tls),
    timezone: 'Z',
    multipleStatements: true,
    connectionLimit,
  });
}
