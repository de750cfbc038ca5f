import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ackSignal } from '../../workflows/definitions.js';
import { uniqueId } from '../helpers/stack.js';
import { replayOptions } from '../helpers/workflow-bundle.js';
import { WorkflowHarness } from '../helpers/workflow-harness.js';

/**
 * Guarantee 6 (every history replays) for the consumer check-backs of a resend, asked of several groups at
 * once: their route lookups (local activities) run concurrently and resolve in the order they end, so the
 * check-back of the group whose lookup ended first is scheduled first. The history records the lookups in
 * that order and the SDK's core replays them in it (not in the order they were scheduled); were that to
 * change, a replay would hand one group's answer to another. This holds it.
 */
let harness: WorkflowHarness;

beforeAll(async () => {
  harness = await WorkflowHarness.start();
});

afterAll(async () => {
  await harness?.stop();
});

describe('consumer check-backs of several groups', () => {
  it('replay when the first group’s route lookup ends after the second’s', async () => {
    const [a, b] = [uniqueId('stock'), uniqueId('billing')];
    const lookupsEnded: string[] = [];
    const m = await harness.start(true, {
      subscribers: [a, b],
      // Over HTTP, so each group answers for itself: A has consumed it, B has not.
      consumerCheckBack: {
        groups: [a, b],
        via: 'http',
        answer: (_call, group) => (group === a ? 'CONSUMED' : 'NOT_CONSUMED'),
      },
      // A's lookup ends well after B's, which was scheduled after it.
      onFindCheckBack: async (_call, group) => {
        if (group === a) await sleep(300);
        lookupsEnded.push(group);
      },
      timings: { resendAfterMs: 300 },
    });
    await m.until((s) => s.sendCount === 2, 'resent');
    await m.handle.signal(ackSignal, { group: b, status: 'CONSUMED' });
    const final = await m.handle.result();

    expect(final.status).toBe('FINISHED');
    expect(lookupsEnded).toEqual([b, a]);
    expect(m.consumerCheckBacks().map((c) => c.group)).toEqual(expect.arrayContaining([a, b]));
    // The resend goes to the group that had not consumed it, only.
    expect(m.publishes.map((p) => [p.groups, p.round])).toEqual([
      [[a, b], 1],
      [[b], 2],
    ]);
    await Worker.runReplayHistory(await replayOptions(), await m.handle.fetchHistory(), m.handle.workflowId);
  });
});
