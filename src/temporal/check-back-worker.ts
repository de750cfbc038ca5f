import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { CheckBackContext } from '../../workflows/definitions.js';
import { ValidationError } from '../errors.js';
import { type PurgeTimer, startPurgeTimer } from '../local-table-purge.js';
import type { Logger } from '../logger.js';
import { tracingActivityInterceptors } from '../tracing.js';
import { temporalConnectionOptions } from './connection.js';
import type { BackgroundRegistration } from './registration.js';
import { installTemporalRuntime } from './runtime.js';

/**
 * Check-backs answered at once by default. Each holds one connection of the business pool for up to
 * its locking read's wait, so this is also the most of that pool a burst of check-backs can take.
 */
export const DEFAULT_CHECK_BACK_CONCURRENCY = 2;

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
  /** The payload codecs of the SDK's client: the workflow's check-back input and answer use them. */
  dataConverter: DataConverter;
  taskQueue: string;
  activityName: string;
  answer: (key: string, told: Partial<CheckBackContext>) => Promise<string>;
  register: () => Promise<BackgroundRegistration>;
  /** Check-backs answered at once (default DEFAULT_CHECK_BACK_CONCURRENCY). */
  concurrency?: number;
  /** The local table the answers come from, purged daily for as long as the check-back is served. */
  purge?: { table: string; run: () => Promise<number> };
  log: Logger;
}): Promise<CheckBackServer> {
  const concurrency = opts.concurrency ?? DEFAULT_CHECK_BACK_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new ValidationError('concurrency', 'must be a positive integer');
  installTemporalRuntime(opts.log);
  const connection = await NativeConnection.connect(temporalConnectionOptions({ address: opts.address }));
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    dataConverter: opts.dataConverter,
    maxConcurrentActivityTaskExecutions: concurrency,
    interceptors: { activity: tracingActivityInterceptors() },
    activities: {
      // Runs scheduled before the workflow told the message's age ask with the key alone.
      [opts.activityName]: async (key: string, told: Partial<CheckBackContext> = {}) => {
        const answer = await opts.answer(key, told);
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
  let registration: BackgroundRegistration | undefined;
  const stop = async () => {
    await registration?.cancel();
    await purging?.stop();
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
  };
  try {
    registration = await opts.register();
  } catch (err) {
    await stop(); // nothing may keep the process alive after a failed start
    throw err;
  }
  if (opts.purge) purging = startPurgeTimer(opts.purge.table, opts.purge.run, opts.log);
  return { stop };
}
