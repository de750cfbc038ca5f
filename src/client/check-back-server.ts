import type { Client } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import {
  type CheckBackAnswer,
  type CheckBackContext,
  PRODUCER_CHECK_BACK_ACTIVITY,
  producerCheckBackTaskQueue,
} from '../../workflows/definitions.js';
import { checkRetention } from '../local-table-purge.js';
import type { Logger } from '../logger.js';
import { type CheckBackServer, serveCheckBackActivity } from '../temporal/check-back-worker.js';
import { dataConverterOfClient } from '../temporal/connection.js';
import { registerForStart } from '../temporal/registration.js';
import { MIN_LOCAL_RETENTION_MS } from '../timings.js';
import {
  ensureLocalMessageTable,
  LOCAL_MESSAGE_TABLE,
  localTableCheckBack,
  purgeLocalMessages,
} from './local-table.js';

/** Answers for a key; `told` says when its message was created (absent from runs before it was told). */
export type CheckBackHandler = (key: string, told: Partial<CheckBackContext>) => Promise<CheckBackAnswer>;
/**
 * Answer from `withReliableMessage`'s local table in `pool`, and purge its rows older than
 * `retentionMs` daily (default and least 8 days, a day past the longest confirm deadline; false: purge it yourself with `purgeLocalMessages`).
 */
export interface LocalTableCheckBack {
  pool: Pool;
  retentionMs?: number | false;
}
export interface CheckBackOptions {
  /**
   * Check-backs answered at once (default 2): with `{ pool }`, also the most connections of that
   * pool they take, so a burst of check-backs cannot starve the business.
   */
  concurrency?: number;
}
export type { CheckBackServer };

/** The producer group's check-back, served on its own task queue and registered with the service. */
export async function serveProducerCheckBack(
  opts: {
    client: Client;
    address: string;
    serviceTaskQueue: string;
    registrationTimeoutMs?: number;
    group: string;
    handler: CheckBackHandler | LocalTableCheckBack;
    log: Logger;
  } & CheckBackOptions,
): Promise<CheckBackServer> {
  const local = typeof opts.handler === 'function' ? undefined : opts.handler;
  // A row must outlive the longest confirm deadline, or a check-back could answer ROLLBACK for a commit.
  const retentionMs = checkRetention(local?.retentionMs, MIN_LOCAL_RETENTION_MS);
  const pool = local?.pool;
  if (pool) await ensureLocalMessageTable(pool);
  const answer: CheckBackHandler = pool ? localTableCheckBack(pool, retentionMs) : (opts.handler as CheckBackHandler);
  const taskQueue = producerCheckBackTaskQueue(opts.group);
  return serveCheckBackActivity({
    address: opts.address,
    namespace: opts.client.options.namespace,
    dataConverter: dataConverterOfClient(opts.client),
    taskQueue,
    activityName: PRODUCER_CHECK_BACK_ACTIVITY,
    answer,
    concurrency: opts.concurrency,
    register: () =>
      registerForStart({
        client: opts.client,
        serviceTaskQueue: opts.serviceTaskQueue,
        registration: { kind: 'producer', group: opts.group, checkBackTaskQueue: taskQueue },
        timeoutMs: opts.registrationTimeoutMs,
        log: opts.log,
      }),
    purge:
      pool && retentionMs !== false
        ? { table: LOCAL_MESSAGE_TABLE, run: () => purgeLocalMessages(pool, retentionMs) }
        : undefined,
    log: opts.log,
  });
}
