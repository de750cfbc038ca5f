import type { Config } from '../config.js';
import { readPem } from '../config-parse.js';

export type DatabaseTls = Config['databaseTls'];

/**
 * TLS options in the shape both MySQL drivers take (mariadb under Prisma, mysql2 for migrations);
 * undefined while TLS is off (the local stack).
 */
export function databaseSsl(tls: DatabaseTls | undefined): { ca?: Buffer; rejectUnauthorized: boolean } | undefined {
  if (!tls || !(tls.enabled || tls.caPath)) return undefined;
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.caPath ? { ca: readPem(tls.caPath, 'databaseTls.caPath') } : {}),
  };
}
