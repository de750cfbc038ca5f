import type { Workflow, WorkflowCreator } from '@temporalio/worker/lib/workflow/interface.js';
import type { SinkCall } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import type { ProjectionWrite } from '../../src/db/projection-writer.js';
import { withFinalWrites } from '../../src/worker/final-writes.js';
import { FailureType, FINAL_WRITE_SINK } from '../../workflows/definitions.js';

const writeOf = (key: string) => ({ state: { key } }) as unknown as ProjectionWrite;
const call = (ifaceName: string, arg: unknown, isReplaying = false) =>
  ({ ifaceName, fnName: 'write', args: [arg], workflowInfo: { unsafe: { isReplaying } } }) as unknown as SinkCall;

/** A workflow whose every activation makes the given sink calls; counts the trips to take them. */
function fakeCreator(calls: SinkCall[]) {
  const counts = { extractions: 0 };
  const creator: WorkflowCreator = {
    async createWorkflow() {
      let pending: SinkCall[] = [];
      const workflow: Workflow = {
        activate: async () => {
          pending = [...calls];
          return { runId: 'run-1', successful: { commands: [] } };
        },
        getAndResetSinkCalls: async () => {
          counts.extractions += 1;
          const taken = pending;
          pending = [];
          return taken;
        },
        dispose: async () => undefined,
      };
      return workflow;
    },
    destroy: async () => undefined,
  };
  return { creator, counts };
}

const options = { info: { workflowId: 'wf', runId: 'run-1' } } as Parameters<WorkflowCreator['createWorkflow']>[0];

describe('final projection writes made as the workflow task completes', () => {
  it('writes what the activation handed over before its completion is returned; other sink calls go on, taken once', async () => {
    const tracing = call('exporter', 'span');
    const { creator, counts } = fakeCreator([call(FINAL_WRITE_SINK, writeOf('k1')), tracing]);
    const written: string[] = [];
    const workflow = await withFinalWrites(creator, async (w) => {
      written.push(w.state.key);
    }).createWorkflow(options);
    const completion = await workflow.activate({});
    expect(written).toEqual(['k1']);
    expect(completion).toEqual({ runId: 'run-1', successful: { commands: [] } });
    expect(await workflow.getAndResetSinkCalls()).toEqual([tracing]);
    expect(counts.extractions).toBe(1);
  });

  it('a write that fails turns the completion into a failure naming the key, so the task is retried', async () => {
    const { creator } = fakeCreator([call(FINAL_WRITE_SINK, writeOf('k2'))]);
    const workflow = await withFinalWrites(creator, async () => {
      throw new Error('ECONNREFUSED');
    }).createWorkflow(options);
    const completion = await workflow.activate({});
    expect(completion.successful).toBeUndefined();
    expect(completion.failed?.failure).toMatchObject({
      message: expect.stringMatching(/final projection write of message k2 failed.*ECONNREFUSED/),
      applicationFailureInfo: { type: FailureType.finalWriteFailed },
    });
  });

  it('writes nothing for a call made while replaying: the task that made it first completed, so it landed', async () => {
    const { creator } = fakeCreator([call(FINAL_WRITE_SINK, writeOf('k3'), true)]);
    const written: string[] = [];
    const workflow = await withFinalWrites(creator, async (w) => {
      written.push(w.state.key);
    }).createWorkflow(options);
    await workflow.activate({});
    expect(written).toEqual([]);
  });
});
