import { NativeConnection, Worker } from '@temporalio/worker';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Logger } from '../logger.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import {
  type CheckBackAnswer,
  PRODUCER_CHECK_BACK_ACTIVITY,
  producerCheckBackTaskQueue,
  type Registration,
} from '../../workflows/definitions.js';
import { ensureLocalMessageTable, LOCAL_MESSAGE_TABLE } from './local-transaction.js';

export type CheckBackHandler = (key: string) => Promise<CheckBackAnswer>;

export interface CheckBackServer {
  stop(): Promise<void>;
}

/**
 * Runs the producer's check-back where the workflow reaches it: an activity worker on the producer
 * group's own task queue, registered with the service. No port to open, no URL to publish.
 */
export async function serveProducerCheckBack(opts: {
  address: string;
  namespace: string;
  group: string;
  handler: CheckBackHandler | { pool: Pool };
  log: Logger;
  register: (r: Registration) => Promise<void>;
}): Promise<CheckBackServer> {
  installTemporalRuntime(opts.log);
  const handler = typeof opts.handler === 'function' ? opts.handler : await localTableCheckBack(opts.handler.pool);
  const taskQueue = producerCheckBackTaskQueue(opts.group);
  const connection = await NativeConnection.connect({ address: opts.address });
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue,
    activities: {
      [PRODUCER_CHECK_BACK_ACTIVITY]: async (key: string) => {
        const answer = await handler(key);
        opts.log.info({ messageKey: key, answer }, 'check-back answered');
        return answer;
      },
    },
  });
  const running = worker.run().finally(() => connection.close());
  await opts.register({ kind: 'producer', group: opts.group, checkBackTaskQueue: taskQueue });
  return {
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

/**
 * Answers from the local table that `withReliableMessage` writes in the business transaction. The
 * read takes a shared lock, so while that transaction is open it waits for its outcome instead of
 * answering ROLLBACK too early; a lock wait that times out answers UNKNOWN (asked again later).
 */
async function localTableCheckBack(pool: Pool): Promise<CheckBackHandler> {
  await ensureLocalMessageTable(pool);
  return async (key) => {
    const conn = await pool.getConnection();
    try {
      await conn.query('SET SESSION innodb_lock_wait_timeout = 5');
      const [rows] = await conn.query<RowDataPacket[]>(
        `SELECT 1 FROM ${LOCAL_MESSAGE_TABLE} WHERE message_key = ? LOCK IN SHARE MODE`,
        [key],
      );
      return rows.length > 0 ? 'COMMIT' : 'ROLLBACK';
    } catch (err) {
      if ((err as { code?: string }).code === 'ER_LOCK_WAIT_TIMEOUT') return 'UNKNOWN';
      throw err;
    } finally {
      conn.release();
    }
  };
}
