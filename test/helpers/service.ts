import type { WorkflowBundle } from '@temporalio/worker';
import type { Activities } from '../../activities/index.js';
import { ReliableMessageClient } from '../../src/client/index.js';
import { type Config, loadConfig } from '../../src/config.js';
import { createServiceWorker, type ServiceWorker } from '../../src/worker/service-worker.js';
import { bundleWorkflows } from '../../src/worker/workflow-bundle.js';
import type { MessageState, Timings } from '../../workflows/definitions.js';
import { testLogger, uniqueId } from './stack.js';

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

let bundle: Promise<WorkflowBundle> | undefined;
/** The workflow bundle is built once per test process (webpack takes seconds). */
export function sharedWorkflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflows();
  return bundle;
}

export interface TestService {
  config: Config;
  worker: ServiceWorker;
  /** Starts another worker on the same task queue (e.g. after `worker.shutdown()`, to test restarts). */
  restart(): Promise<void>;
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
    stop: () => service.worker.shutdown(),
  };
  void service.worker.run();
  return service;
}

/** Polls `probe` until it returns a truthy value or the time runs out; returns that value. */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false | null>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
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

/** Waits until the message reaches `status`; returns its state then. */
export function waitForStatus(
  client: ReliableMessageClient,
  key: string,
  status: MessageState['status'],
  timeoutMs = 20_000,
): Promise<MessageState> {
  return eventually(
    async () => {
      const s = await client.get(key);
      return s.status === status && s;
    },
    timeoutMs,
    `${key} to be ${status}`,
  );
}
