import type { Config } from '../config.js';
import { applyMigrations } from '../db/migrate.js';
import type { Logger } from '../logger.js';
import { connectTemporalClient } from '../temporal/connection.js';
import { ensureAuditSchedule, ensureSchedules } from './schedules.js';
import { createServiceWorker } from './service-worker.js';

/**
 * The long-running service process: migrates the projection database, runs the worker, and on
 * SIGINT/SIGTERM drains in-flight tasks and closes every connection before exiting.
 */
export async function runService(config: Config, log: Logger): Promise<void> {
  const t0 = Date.now();
  const { applied } = await applyMigrations(config.databaseUrl, { log: (m) => log.info(m), tls: config.databaseTls });
  log.info({ applied: applied.length, ms: Date.now() - t0 }, 'projection database ready');
  await ensureHousekeepingSchedule(config, log);
  const worker = await createServiceWorker(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining in-flight work');
    void worker.shutdown();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  log.info(
    { temporal: config.temporal.address, taskQueue: config.temporal.taskQueue, ui: config.temporal.uiUrl },
    'reliable-message service started; Ctrl-C to stop',
  );
  await worker.run();
  log.info('stopped');
}

/** Creates or updates the `rmsg-housekeeping` Schedule; a bad cron fails the start, not 3 a.m. */
async function ensureHousekeepingSchedule(config: Config, log: Logger): Promise<void> {
  const client = await connectTemporalClient(config.temporal, config.codec);
  try {
    const { scheduleId, created } = await ensureSchedules(client, config);
    log.info({ scheduleId, created, ...config.housekeeping }, 'housekeeping schedule ready');
    log.info(
      { ...(await ensureAuditSchedule(client, config)), cron: config.operators.auditCron },
      'audit schedule ready',
    );
  } finally {
    await client.connection.close();
  }
}
