import type { Client } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import { CONSUMER_CHECK_BACK_ACTIVITY, consumerCheckBackTaskQueue } from '../../workflows/definitions.js';
import { checkRetention } from '../local-table-purge.js';
import type { Logger } from '../logger.js';
import { type CheckBackServer, serveCheckBackActivity } from '../temporal/check-back-worker.js';
import { dataConverterOfClient } from '../temporal/connection.js';
import { registerWithService } from '../temporal/registration.js';
import { CONSUMED_TABLE, ensureConsumedTable, purgeConsumedMessages, wasConsumed } from './idempotency.js';

/**
 * Serves a consumer group's check-back (seed 3.4) from its idempotency table: before resending, the
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
    register: () =>
      registerWithService(opts.client, opts.serviceTaskQueue, {
        kind: 'consumer',
        group: opts.group,
        checkBackTaskQueue: taskQueue,
      }),
    purge:
      retentionMs === false
        ? undefined
        : { table: CONSUMED_TABLE, run: () => purgeConsumedMessages(opts.pool, retentionMs) },
    log: opts.log,
  });
}
