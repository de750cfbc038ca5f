import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaClient } from '../generated/prisma/client.js';
import { type DatabaseTls, databaseSsl } from './tls.js';

export * from '../generated/prisma/client.js';

export interface PrismaOptions {
  /** Pool size; a `connectionLimit` query parameter in the URL wins. */
  connectionLimit?: number;
  /** TLS to a managed MySQL (config.databaseTls). */
  tls?: DatabaseTls;
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
  const ssl = databaseSsl(options.tls);
  // The adapter accepts mysql:// (it rewrites the scheme for the mariadb driver). A CA certificate
  // cannot travel in a URL, so with TLS the driver gets the URL's settings as an object.
  if (!ssl) return new PrismaClient({ adapter: new PrismaMariaDb(url.toString()) });
  return new PrismaClient({ adapter: new PrismaMariaDb({ ...poolConfigOf(url), ssl }) });
}

/** The mariadb driver's pool settings from a database URL: its parts, and query parameters as options. */
function poolConfigOf(url: URL): Record<string, string | number | boolean> {
  const config: Record<string, string | number | boolean> = {
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.replace(/^\//, '')),
  };
  for (const [k, v] of url.searchParams) {
    config[k] = v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v;
  }
  return config;
}
