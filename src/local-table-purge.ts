import type { Pool, ResultSetHeader } from 'mysql2/promise';
import { ValidationError } from './errors.js';
import type { Logger } from './logger.js';

/** How long the SDKs keep rows in their local tables unless told otherwise. */
export const DEFAULT_LOCAL_RETENTION_MS = 7 * 24 * 60 * 60_000;
const DAY_MS = 24 * 60 * 60_000;

export interface PurgeTimer {
  /** No further runs; waits for a run in flight, so the caller may then end its pool. */
  stop(): Promise<void>;
}

/**
 * Runs `purge` shortly after start, then daily. The first run is not a day away because many
 * processes restart more often than that. Unref'd, so it never keeps the process alive; a failure is
 * only logged and the next run tries again.
 */
export function startPurgeTimer(
  table: string,
  purge: () => Promise<number>,
  log: Logger,
  { firstAfterMs = 60_000, everyMs = DAY_MS }: { firstAfterMs?: number; everyMs?: number } = {},
): PurgeTimer {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const run = async () => {
    const t0 = Date.now();
    try {
      const deleted = await purge();
      log.info({ table, deleted, ms: Date.now() - t0 }, 'purged old rows from the local table');
    } catch (err) {
      log.warn({ err, table }, 'purging the local table failed; the next run tries again');
    }
    if (!stopped) schedule(everyMs);
  };
  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      running = run();
    }, ms);
    timer.unref();
  };
  schedule(firstAfterMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/**
 * Validates an SDK `retentionMs` option: at least `minMs` (and by default that much or 7 days), or false
 * for no automatic purge.
 */
export function checkRetention(retentionMs: number | false | undefined, minMs = 1): number | false {
  if (retentionMs === undefined) return Math.max(DEFAULT_LOCAL_RETENTION_MS, minMs);
  if (retentionMs !== false && !(Number.isFinite(retentionMs) && retentionMs >= minMs))
    throw new ValidationError('retentionMs', `must be at least ${minMs} ms, or false`);
  return retentionMs;
}

/**
 * Deletes rows whose `column` is older than `olderThanMs` (and that match `onlyWhere`), a batch at a
 * time so no statement holds many locks or a long undo log; returns how many went. The cutoff is
 * computed by the database, in the same time zone as the DEFAULT CURRENT_TIMESTAMP that filled the column.
 */
export async function deleteOlderThan(
  pool: Pool,
  table: string,
  column: string,
  olderThanMs: number,
  { batchSize = 1000, onlyWhere = 'TRUE' }: { batchSize?: number; onlyWhere?: string } = {},
): Promise<number> {
  if (!(Number.isFinite(olderThanMs) && olderThanMs >= 0)) throw new TypeError('olderThanMs: must be >= 0');
  let total = 0;
  for (;;) {
    const [result] = await pool.query<ResultSetHeader>(
      `DELETE FROM ${table} WHERE ${column} < NOW(3) - INTERVAL ? MICROSECOND AND (${onlyWhere}) LIMIT ?`,
      [Math.round(olderThanMs * 1000), batchSize],
    );
    total += result.affectedRows;
    if (result.affectedRows === 0) return total;
  }
}
