import type { Client } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import { CONSUMER_CHECK_BACK_ACTIVITY, consumerCheckBackTaskQueue } from '../../workflows/definitions.js';
import { checkRetention } from '../local-table-purge.js';
import type { Logger } from '../logger.js';
import { type CheckBackServer, serveCheckBackActivity } from '../temporal/check-back-worker.js';
import { dataConverterOfClient } from '../temporal/connection.js';
import { registerForStart } from '../temporal/registration.js';
import { CONSUMED_TABLE, ensureConsumedTable, purgeConsumedMessages, wasConsumed } from './idempotency.js';

/**
 * Serves a consumer group's check-back from its idempotency table: before resending, the
 * service asks whether the group already consumed the message, so a lost `consumed` report costs no
 * second delivery.
 */
export async function serveConsumerCheckBack(opts: {
  client: Client;
  address: string;
  serviceTaskQueue: string;
  group: string;
  pool: Pool;
  /** Purge consumed records older than this daily (default 7 days); false: never. */
  retentionMs?: number | false;
  /** Check-backs answered at once, so also the most connections of `pool` they take (default 2). */
  concurrency?: number;
  registrationTimeoutMs?: number;
  log: Logger;
}): Promise<CheckBackServer> {
  const retentionMs = checkRetention(opts.retentionMs);
  await ensureConsumedTable(opts.pool);
  const taskQueue = consumerCheckBackTaskQueue(opts.group);
  // The purge lives exactly as long as the consumer that owns the pool.
  return serveCheckBackActivity({
    address: opts.address,
    namespace: opts.client.options.namespace,
    dataConverter: dataConverterOfClient(opts.client),
    taskQueue,
    activityName: CONSUMER_CHECK_BACK_ACTIVITY,
    answer: (key) => wasConsumed(opts.pool, key, opts.group),
    concurrency: opts.concurrency,
    register: () =>
      registerForStart({
        client: opts.client,
        serviceTaskQueue: opts.serviceTaskQueue,
        registration: { kind: 'consumer', group: opts.group, checkBackTaskQueue: taskQueue },
        timeoutMs: opts.registrationTimeoutMs,
        log: opts.log,
      }),
    purge:
      retentionMs === false
        ? undefined
        : { table: CONSUMED_TABLE, run: () => purgeConsumedMessages(opts.pool, retentionMs) },
    log: opts.log,
  });
}
