import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaClient } from '../generated/prisma/client.js';

export * from '../generated/prisma/client.js';

export interface PrismaOptions {
  /** Pool size; a `connectionLimit` query parameter in the URL wins. */
  connectionLimit?: number;
}

/**
 * The Prisma 7 client over the MariaDB driver adapter (no native query engine; works against
 * MySQL too). The adapter owns its pool: `await prisma.$disconnect()` ends it.
 */
export function createPrisma(databaseUrl: string, options: PrismaOptions = {}): PrismaClient {
  const url = new URL(databaseUrl);
  if (!url.searchParams.has('connectionLimit')) {
    url.searchParams.set('connectionLimit', String(options.connectionLimit ?? 10));
  }
  // MySQL 8's default caching_sha2_password needs the server's RSA key for a full authentication over
  // plain TCP (each user's first login after a server start). mysql2 fetches it unasked; the mariadb
  // driver refuses unless this is set, so the pool could not (re)connect after a MySQL restart.
  if (!url.searchParams.has('allowPublicKeyRetrieval')) {
    url.searchParams.set('allowPublicKeyRetrieval', 'true');
  }
  // The adapter accepts mysql:// (it rewrites the scheme for the mariadb driver).
  return new PrismaClient({ adapter: new PrismaMariaDb(url.toString()) });
}
