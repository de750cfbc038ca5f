import { NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { type Activities, createActivities } from '../../activities/index.js';
import type { Config } from '../config.js';
import { definedOnly } from '../config-parse.js';
import { hotPathPool } from '../db/mysql-pool.js';
import { createPrisma } from '../db/prisma.js';
import { ProjectionWriter } from '../db/projection-writer.js';
import { SubscriberSnapshots } from '../db/registry.js';
import type { Logger } from '../logger.js';
import { createRocketmqPublisher } from '../rocketmq/publisher.js';
import { dataConverterOf } from '../temporal/codec.js';
import { connectTemporalClient, temporalConnectionOptions } from '../temporal/connection.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { tracingActivityInterceptors, tracingWorkflowSinks } from '../tracing.js';
import { guardedWorkerClass, type OnStuckActivation } from './guarded-worker.js';
import { serviceWorkflowBundle } from './workflow-bundle.js';

export interface ServiceWorker {
  /** Resolves when the worker has stopped (after `shutdown()` or a fatal error). */
  run(): Promise<void>;
  /** Stops polling, lets in-flight tasks finish, then closes every connection. */
  shutdown(): Promise<void>;
}

/**
 * The service worker: the reliable-message workflows and their activities on the service task queue.
 * Pass a bundle to share one among workers (tests); otherwise the prebuilt one (compiled code) or a
 * fresh one (development) is used.
 */
export async function createServiceWorker(
  config: Config,
  log: Logger,
  opts: {
    workflowBundle?: WorkflowBundle;
    /** Wraps the activities before the worker runs them (fault injection in tests). */
    wrapActivities?: (activities: Activities) => Activities;
    /** A stuck workflow thread serves nothing: by default the process exits for its supervisor to restart. */
    onStuckActivation?: OnStuckActivation;
  } = {},
): Promise<ServiceWorker> {
  const workflowBundle = opts.workflowBundle ?? (await serviceWorkflowBundle(log));
  installTemporalRuntime(log);
  const prisma = createPrisma(config.databaseUrl, { tls: config.databaseTls });
  const projections = new ProjectionWriter(config.databaseUrl, config.databaseTls);
  const subscribers = new SubscriberSnapshots(hotPathPool(config.databaseUrl, config.databaseTls, 1));
  const publisher = createRocketmqPublisher({ ...config.rocketmq, log });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const temporal = await connectTemporalClient(config.temporal, config.codec);
  const onStuck: OnStuckActivation =
    opts.onStuckActivation ??
    ((stuck) => {
      log.fatal(stuck, 'workflow code has not answered an activation: the workflow thread is stuck; exiting');
      process.exit(70);
    });
  const activities = createActivities(
    { prisma, projections, subscribers, publisher, config, log, temporal },
    opts.wrapActivities,
  );
  const worker = await guardedWorkerClass(onStuck, {
    stackTraces: config.workflowCode.stackTraces,
    // The same write as the local activity's, with its dependency gate (and any fault a test injects).
    finalWrites: (write) => activities.syncProjection(write),
  }).create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle,
    dataConverter: dataConverterOf(config.codec),
    activities,
    interceptors: { activity: tracingActivityInterceptors() },
    sinks: tracingWorkflowSinks(),
    ...definedOnly(config.worker),
  });
  let running: Promise<void> | undefined;
  const closeAll = async () => {
    await publisher.close();
    await prisma.$disconnect();
    await projections.close();
    await subscribers.close();
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
