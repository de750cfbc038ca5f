import { loadConfig } from '../config.js';
import { logger } from '../logger.js';
import { applyMigrations } from './migrate.js';

/** `npm run db:migrate`: applies pending SQL migrations to the configured database. */
const log = logger.child({ component: 'migrate' });
const started = Date.now();
try {
  const config = loadConfig();
  const { applied } = await applyMigrations(config.databaseUrl, {
    log: (msg) => log.info(msg),
    tls: config.databaseTls,
  });
  log.info({ applied: applied.length, migrations: applied, ms: Date.now() - started }, 'migrations up to date');
} catch (err) {
  log.error({ err }, 'migration failed');
  process.exitCode = 1;
}
