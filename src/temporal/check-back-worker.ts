import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { type PurgeTimer, startPurgeTimer } from '../local-table-purge.js';
import type { Logger } from '../logger.js';
import { tracingActivityInterceptors } from '../tracing.js';
import { temporalConnectionOptions } from './connection.js';
import { installTemporalRuntime } from './runtime.js';

export interface CheckBackServer {
  stop(): Promise<void>;
}

/**
 * Runs one check-back activity on a group's own task queue, where the workflow reaches it: no port to
 * open, no URL to publish. `register` then tells the service where to ask.
 */
export async function serveCheckBackActivity(opts: {
  address: string;
  namespace: string;
  /** The same payload codec as the service, so both read each other's payloads. */
  dataConverter: DataConverter;
  taskQueue: string;
  activityName: string;
  answer: (key: string) => Promise<string>;
  register: () => Promise<void>;
  /** The local table the answers come from, purged daily for as long as the check-back is served. */
  purge?: { table: string; run: () => Promise<number> };
  log: Logger;
}): Promise<CheckBackServer> {
  installTemporalRuntime(opts.log);
  const connection = await NativeConnection.connect(temporalConnectionOptions({ address: opts.address }));
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    dataConverter: opts.dataConverter,
    taskQueue: opts.taskQueue,
    interceptors: { activity: tracingActivityInterceptors() },
    activities: {
      [opts.activityName]: async (key: string) => {
        const answer = await opts.answer(key);
        opts.log.info({ messageKey: key, taskQueue: opts.taskQueue, answer }, 'check-back answered');
        return answer;
      },
    },
  });
  // A fatal worker error is logged here rather than left as an unhandled rejection that ends the process.
  const running = worker
    .run()
    .catch((err: unknown) =>
      opts.log.error({ err, taskQueue: opts.taskQueue }, 'check-back worker stopped with an error'),
    )
    .finally(() => connection.close());
  let purging: PurgeTimer | undefined;
  const stop = async () => {
    await purging?.stop();
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
  };
  try {
    await opts.register();
  } catch (err) {
    await stop(); // nothing may keep the process alive after a failed start
    throw err;
  }
  if (opts.purge) purging = startPurgeTimer(opts.purge.table, opts.purge.run, opts.log);
  return { stop };
}
