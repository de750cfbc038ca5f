import { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from '../logger.js';
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
  taskQueue: string;
  activityName: string;
  answer: (key: string) => Promise<string>;
  register: () => Promise<void>;
  log: Logger;
}): Promise<CheckBackServer> {
  installTemporalRuntime(opts.log);
  const connection = await NativeConnection.connect({ address: opts.address });
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: {
      [opts.activityName]: async (key: string) => {
        const answer = await opts.answer(key);
        opts.log.info({ messageKey: key, taskQueue: opts.taskQueue, answer }, 'check-back answered');
        return answer;
      },
    },
  });
  const running = worker.run().finally(() => connection.close());
  await opts.register();
  return {
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
