import { type CompiledWorkerOptions, type Logger, Worker } from '@temporalio/worker';
import type { Workflow, WorkflowCreator } from '@temporalio/worker/lib/workflow/interface.js';

/** Workflow code that has not answered an activation this long is stuck, not slow. */
export const STUCK_ACTIVATION_MS = 60_000;

/** Told once when the workflow thread is stuck; the service exits so its supervisor replaces it. */
export type OnStuckActivation = (stuck: { workflowId: string; runId: string; waitedMs: number }) => void;

/**
 * A Temporal worker whose workflow code runs without node:vm's per-call `timeout`. That timeout starts
 * and joins an OS thread on every call into workflow code (measured here: 37 µs a call against 1 µs
 * without, a few hundred calls a message, a quarter of the worker's CPU). The same guard, against a
 * loop in workflow code, is kept outside the thread instead: an activation unanswered for
 * STUCK_ACTIVATION_MS is reported to `onStuck`.
 */
export function guardedWorkerClass(onStuck: OnStuckActivation, stuckAfterMs = STUCK_ACTIVATION_MS): typeof Worker {
  return class GuardedWorker extends Worker {
    protected static override async createWorkflowCreator(
      bundle: Parameters<typeof Worker.createWorkflowCreator>[0],
      options: CompiledWorkerOptions,
      logger: Logger,
    ): Promise<WorkflowCreator> {
      // Without a timeout node:vm runs the call on the calling thread alone.
      const unbounded = { ...options, isolateExecutionTimeoutMs: undefined as unknown as number };
      return guardActivations(await Worker.createWorkflowCreator(bundle, unbounded, logger), onStuck, stuckAfterMs);
    }
  };
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
