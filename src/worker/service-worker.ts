import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import type { Config } from '../config.js';
import { createPrisma } from '../db/prisma.js';
import type { Logger } from '../logger.js';
import { createRocketmqPublisher } from '../rocketmq/publisher.js';
import { connectTemporalClient } from '../temporal/connection.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { bundleWorkflowsInChildProcess } from './workflow-bundle.js';

export interface ServiceWorker {
  /** Resolves when the worker has stopped (after `shutdown()` or a fatal error). */
  run(): Promise<void>;
  /** Stops polling, lets in-flight tasks finish, then closes every connection. */
  shutdown(): Promise<void>;
}

/**
 * The service worker: the reliable-message workflows and their activities on the service task queue.
 * Pass a bundle to share one among workers (tests); otherwise it is built in a child process.
 */
export async function createServiceWorker(
  config: Config,
  log: Logger,
  opts: { workflowBundle?: WorkflowBundle } = {},
): Promise<ServiceWorker> {
  const workflowBundle = opts.workflowBundle ?? (await bundleWorkflowsInChildProcess());
  installTemporalRuntime(log);
  const prisma = createPrisma(config.databaseUrl);
  const publisher = createRocketmqPublisher({ endpoints: config.rocketmq.endpoints, log });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const temporal = await connectTemporalClient(config.temporal);
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle,
    activities: createActivities({ prisma, publisher, config, log, temporal }),
    ...definedOnly(config.worker),
  });
  let running: Promise<void> | undefined;
  const closeAll = async () => {
    await publisher.close();
    await prisma.$disconnect();
    await connection.close();
    await temporal.connection.close();
  };
  return {
    run() {
      running ??= worker.run().finally(closeAll);
      log.info({ taskQueue: config.temporal.taskQueue }, 'service worker running');
      return running;
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      if (running) await running;
      else await closeAll();
    },
  };
}

/** Drops unset tuning values so the SDK's own defaults apply. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
