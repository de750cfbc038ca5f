import type { InjectedSinks } from '@temporalio/worker';
import type { Workflow, WorkflowCreator } from '@temporalio/worker/lib/workflow/interface.js';
import type { SinkCall } from '@temporalio/workflow';
import { FailureType, FINAL_WRITE_SINK, type FinalWriteSinks } from '../../workflows/definitions.js';
import type { ProjectionWrite } from '../db/projection-writer.js';

/**
 * Makes the final projection writes that workflows hand over through the FinalWriteSinks (protocol 4)
 * after the activation that asked and before its completion leaves for Temporal. A write that fails turns
 * the completion into a failure: the workflow task fails and Temporal retries it (the run replays and asks
 * again), so a workflow never completes without its final write. Asked during replay, nothing is written:
 * the task that asked first completed, so its write landed.
 */
/**
 * The FinalWriteSinks of a worker that only replays (histories checked in tests or before a deploy):
 * registered so the SDK does not log the sink as unknown; a replay writes nothing, the run that asked did.
 */
export function replayedFinalWrites(): InjectedSinks<FinalWriteSinks> {
  return { [FINAL_WRITE_SINK]: { write: { fn: () => undefined, callDuringReplay: false } } };
}

export function withFinalWrites(
  creator: WorkflowCreator,
  write: (w: ProjectionWrite) => Promise<void>,
): WorkflowCreator {
  return {
    async createWorkflow(options) {
      const workflow = await creator.createWorkflow(options);
      // The other sink calls of an activation, taken with the writes, for the SDK to run as usual; undefined
      // when the activation failed before they were taken (the SDK then takes them itself).
      let others: SinkCall[] | undefined;
      const wrapped: Workflow = {
        async activate(activation) {
          others = undefined;
          const completion = await workflow.activate(activation);
          const calls = await workflow.getAndResetSinkCalls();
          others = calls.filter((c) => c.ifaceName !== FINAL_WRITE_SINK);
          const live = calls.filter((c) => c.ifaceName === FINAL_WRITE_SINK && !c.workflowInfo.unsafe.isReplaying);
          if (live.length === 0 || completion.failed) return completion;
          const asked = live.map((c) => c.args[0] as ProjectionWrite);
          try {
            for (const w of asked) await write(w);
            return completion;
          } catch (err) {
            const cause = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
            const keys = asked.map((w) => w.state.key).join(', ');
            const message = `final projection write of message ${keys} failed; the workflow task is retried: ${cause}`;
            return {
              runId: completion.runId,
              failed: { failure: { message, applicationFailureInfo: { type: FailureType.finalWriteFailed } } },
            };
          }
        },
        // Called by the SDK after each activation: what was taken already costs no second trip to the thread.
        async getAndResetSinkCalls() {
          const taken = others;
          others = undefined;
          return taken ?? workflow.getAndResetSinkCalls();
        },
        dispose: () => workflow.dispose(),
      };
      return wrapped;
    },
    destroy: () => creator.destroy(),
  };
}
