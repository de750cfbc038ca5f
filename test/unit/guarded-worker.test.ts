import type { Workflow, WorkflowCreator } from '@temporalio/worker/lib/workflow/interface.js';
import { describe, expect, it, vi } from 'vitest';
import { guardActivations } from '../../src/worker/guarded-worker.js';

/** A workflow creator whose activations end when the test says so. */
function fakeCreator() {
  const pending: (() => void)[] = [];
  const creator: WorkflowCreator = {
    async createWorkflow() {
      const workflow: Workflow = {
        activate: () =>
          new Promise((resolve) => {
            pending.push(() => resolve({}));
          }),
        getAndResetSinkCalls: async () => [],
        dispose: async () => undefined,
      };
      return workflow;
    },
    destroy: async () => undefined,
  };
  return {
    creator,
    answerAll: () => {
      for (const answer of pending.splice(0)) answer();
    },
  };
}

const options = (workflowId: string) =>
  ({ info: { workflowId, runId: `${workflowId}-run` } }) as Parameters<WorkflowCreator['createWorkflow']>[0];

describe('the workflow-thread guard that replaces the per-call vm timeout', () => {
  it('reports an activation left unanswered past the limit, once, naming the workflow', async () => {
    vi.useFakeTimers();
    try {
      const { creator } = fakeCreator();
      const onStuck = vi.fn();
      const guarded = guardActivations(creator, onStuck, 5_000);
      const a = await guarded.createWorkflow(options('rm-a'));
      const b = await guarded.createWorkflow(options('rm-b'));
      void a.activate({});
      void b.activate({});
      vi.advanceTimersByTime(4_999);
      expect(onStuck).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(onStuck).toHaveBeenCalledTimes(1);
      expect(onStuck.mock.calls[0]?.[0]).toMatchObject({ workflowId: 'rm-a', runId: 'rm-a-run', waitedMs: 5_000 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('says nothing about activations that are answered in time', async () => {
    vi.useFakeTimers();
    try {
      const { creator, answerAll } = fakeCreator();
      const onStuck = vi.fn();
      const guarded = guardActivations(creator, onStuck, 5_000);
      const workflow = await guarded.createWorkflow(options('rm-c'));
      for (let i = 0; i < 3; i++) {
        const done = workflow.activate({});
        vi.advanceTimersByTime(4_000);
        answerAll();
        await done;
      }
      vi.advanceTimersByTime(60_000);
      expect(onStuck).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });
});
