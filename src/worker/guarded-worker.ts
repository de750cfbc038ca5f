import { createRequire } from 'node:module';
import { Worker as NodeWorker } from 'node:worker_threads';
import { type CompiledWorkerOptions, type Logger, Worker } from '@temporalio/worker';
import type { Workflow, WorkflowCreator } from '@temporalio/worker/lib/workflow/interface.js';
import {
  ThreadedVMWorkflowCreator,
  type ThreadedVMWorkflowCreatorOptions,
  WorkerThreadClient,
} from '@temporalio/worker/lib/workflow/threaded-vm.js';
import type { ProjectionWrite } from '../db/projection-writer.js';
import { withFinalWrites } from './final-writes.js';

/** Workflow code that has not answered an activation this long is stuck, not slow. */
export const STUCK_ACTIVATION_MS = 60_000;

/** Told once when the workflow thread is stuck; the service exits so its supervisor replaces it. */
export type OnStuckActivation = (stuck: { workflowId: string; runId: string; waitedMs: number }) => void;

export interface GuardOptions {
  stuckAfterMs?: number;
  /**
   * Keep the SDK's promise hook, which records a source-mapped stack for every promise workflow code
   * creates so that Temporal UI's "Stack Trace" tab can show where a workflow waits. It cost 35-40 % of
   * the workflow thread's CPU (measured: a formatted Error per promise); off, that query answers that
   * stack traces are not enabled. Errors thrown by workflow code keep their source-mapped stacks either way.
   */
  stackTraces?: boolean;
  /** Makes the final projection writes workflows hand over (see withFinalWrites); none without it. */
  finalWrites?: (write: ProjectionWrite) => Promise<void>;
}

/**
 * A Temporal worker whose workflow code runs without node:vm's per-call `timeout`. That timeout starts
 * and joins an OS thread on every call into workflow code (measured here: 37 µs a call against 1 µs
 * without, a few hundred calls a message, a quarter of the worker's CPU). The same guard, against a
 * loop in workflow code, is kept outside the thread instead: an activation unanswered for
 * `stuckAfterMs` is reported to `onStuck`. Unless `stackTraces`, the workflow threads run without the
 * SDK's per-promise stack capture. With `finalWrites`, it makes the workflows' final projection writes.
 */
export function guardedWorkerClass(onStuck: OnStuckActivation, opts: GuardOptions = {}): typeof Worker {
  const { stuckAfterMs = STUCK_ACTIVATION_MS, stackTraces = false, finalWrites } = opts;
  return class GuardedWorker extends Worker {
    protected static override async createWorkflowCreator(
      bundle: Parameters<typeof Worker.createWorkflowCreator>[0],
      options: CompiledWorkerOptions,
      logger: Logger,
    ): Promise<WorkflowCreator> {
      // Without a timeout node:vm runs the call on the calling thread alone.
      const unbounded = { ...options, isolateExecutionTimeoutMs: undefined as unknown as number };
      const creator =
        stackTraces || options.debugMode
          ? await Worker.createWorkflowCreator(bundle, unbounded, logger)
          : await threadsWithoutPromiseHook(bundle, unbounded, logger);
      const guarded = guardActivations(creator, onStuck, stuckAfterMs);
      return finalWrites ? withFinalWrites(guarded, finalWrites) : guarded;
    }
  };
}

const require = createRequire(import.meta.url);

/**
 * In each workflow thread, the SDK's promise hook is made a no-op before the SDK's own thread script
 * installs it. The rest is what `Worker.createWorkflowCreator` does for threads.
 */
const THREAD_SCRIPT = `
require(${JSON.stringify(require.resolve('@temporalio/worker/lib/workflow/vm-shared.js'))})
  .GlobalHandlers.prototype.setPromiseHook = function setPromiseHook() {};
require(${JSON.stringify(require.resolve('@temporalio/worker/lib/workflow/workflow-worker-thread.js'))});
`;

async function threadsWithoutPromiseHook(
  bundle: ThreadedVMWorkflowCreatorOptions['workflowBundle'],
  options: CompiledWorkerOptions,
  logger: Logger,
): Promise<WorkflowCreator> {
  const clients = Array.from(
    { length: options.workflowThreadPoolSize },
    () =>
      new WorkerThreadClient(new NodeWorker(THREAD_SCRIPT, { eval: true }), logger, options.patchActivationCallback),
  );
  await Promise.all(
    clients.map((client) =>
      client.send({
        type: 'init',
        workflowBundle: bundle,
        isolateExecutionTimeoutMs: options.isolateExecutionTimeoutMs,
        reuseV8Context: options.reuseV8Context ?? true,
        registeredActivityNames: new Set(options.activities.keys()),
        hasPatchActivationCallback: options.patchActivationCallback !== undefined,
      }),
    ),
  );
  return new ThreadedVMWorkflowCreator(clients);
}

/** Wraps each workflow so that an activation pending past `stuckAfterMs` is reported (once per worker). */
export function guardActivations(
  creator: WorkflowCreator,
  onStuck: OnStuckActivation,
  stuckAfterMs: number,
): WorkflowCreator {
  let reported = false;
  return {
    async createWorkflow(options) {
      const workflow = await creator.createWorkflow(options);
      const { workflowId, runId } = options.info;
      const guarded: Workflow = {
        async activate(activation) {
          const since = Date.now();
          const timer = setTimeout(() => {
            if (reported) return;
            reported = true;
            onStuck({ workflowId, runId, waitedMs: Date.now() - since });
          }, stuckAfterMs);
          timer.unref();
          try {
            return await workflow.activate(activation);
          } finally {
            clearTimeout(timer);
          }
        },
        getAndResetSinkCalls: () => workflow.getAndResetSinkCalls(),
        dispose: () => workflow.dispose(),
      };
      return guarded;
    },
    destroy: () => creator.destroy(),
  };
}
