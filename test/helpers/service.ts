import type { Activities } from '../../activities/index.js';
import { ReliableMessageClient } from '../../src/client/index.js';
import { type Config, loadConfig } from '../../src/config.js';
import { createServiceWorker, type ServiceWorker } from '../../src/worker/service-worker.js';
import type { MessageState, Timings } from '../../workflows/definitions.js';
import { eventually } from './eventually.js';
import { terminateServiceWorkflows } from './running-workflows.js';
import { testLogger, uniqueId } from './stack.js';
import { sharedWorkflowBundle } from './workflow-bundle.js';

export { eventually, sharedWorkflowBundle };

/** Timings in milliseconds so that check-backs, resends and deadlines happen within a test. */
export const FAST_TIMINGS: Timings = {
  checkBackAfterMs: 500,
  checkBackBackoff: 1.5,
  maxCheckBackIntervalMs: 2000,
  confirmDeadlineMs: 60_000,
  resendAfterMs: 1500,
  resendBackoff: 1.5,
  maxResendIntervalMs: 5000,
  maxSends: 4,
  checkBackTimeoutMs: 3000,
};

export interface TestService {
  config: Config;
  worker: ServiceWorker;
  /** Starts another worker on the same task queue (e.g. after `worker.shutdown()`, to test restarts). */
  restart(): Promise<void>;
  /** Terminates the workflows still running on its task queue, then stops the worker. */
  stop(): Promise<void>;
}

/**
 * Runs the real service worker against the local stack on a task queue of its own, so that
 * workflows left over from other tests or runs never reach it.
 */
export async function startTestService(
  timings: Partial<Timings> = {},
  opts: {
    /** Wraps the worker's activities (fault injection). */
    wrapActivities?: (activities: Activities) => Activities;
    /** Service settings on top of the local stack's. */
    config?: Partial<Config>;
    /** The service task queue (default: a fresh one). */
    taskQueue?: string;
  } = {},
): Promise<TestService> {
  const { wrapActivities, config: overrides = {}, taskQueue = uniqueId('rmsg-test') } = opts;
  const config = loadConfig(process.env, {
    ...overrides,
    temporal: { ...loadConfig().temporal, taskQueue },
    timings: { ...FAST_TIMINGS, ...timings },
    timingFloorMs: 1,
  });
  const workflowBundle = await sharedWorkflowBundle();
  const service: TestService = {
    config,
    worker: await createServiceWorker(config, testLogger, { workflowBundle, wrapActivities }),
    async restart() {
      await service.worker.shutdown();
      service.worker = await createServiceWorker(config, testLogger, { workflowBundle, wrapActivities });
      void service.worker.run();
    },
    async stop() {
      await terminateServiceWorkflows(config);
      await service.worker.shutdown();
    },
  };
  void service.worker.run();
  return service;
}

/** A producer SDK client on the given service's task queue (a fresh producer group unless named). */
export function connectTestClient(
  config: Config,
  producerGroup = uniqueId('order-service'),
): Promise<ReliableMessageClient> {
  return ReliableMessageClient.connect({
    temporal: config.temporal,
    taskQueue: config.temporal.taskQueue,
    producerGroup,
    log: testLogger,
  });
}

/** Waits until the message's state satisfies `ok`; returns its state then. */
export function waitForState(
  client: ReliableMessageClient,
  key: string,
  ok: (s: MessageState) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<MessageState> {
  return eventually(
    async () => {
      const s = await client.get(key);
      return ok(s) && s;
    },
    timeoutMs,
    what,
  );
}

/** Waits until the message reaches `status`; returns its state then. */
export function waitForStatus(
  client: ReliableMessageClient,
  key: string,
  status: MessageState['status'],
  timeoutMs?: number,
): Promise<MessageState> {
  return waitForState(client, key, (s) => s.status === status, `${key} to be ${status}`, timeoutMs);
}
