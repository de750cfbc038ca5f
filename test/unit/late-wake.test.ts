import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { WorkflowHarness } from '../helpers/workflow-harness.js';

/**
 * A wait timer that fires long after its time: the service's workers were down. The producer's check-back
 * is asked at most once for the intervals missed, not once for each of them back to back. Its own harness:
 * these tests stop the service's worker.
 */
let harness: WorkflowHarness;

beforeAll(async () => {
  harness = await WorkflowHarness.start();
});

afterAll(async () => {
  await harness?.stop();
});

/** Longer than the local Temporal takes to fire a timer that is already due (up to about a second). */
const INTERVAL_MS = 2500;
const everyInterval = { checkBackAfterMs: INTERVAL_MS, checkBackBackoff: 1, maxCheckBackIntervalMs: INTERVAL_MS };
const unknown = { via: 'taskQueue', answer: () => 'UNKNOWN' } as const;

describe('check-backs after an outage of the service', () => {
  it('go on an interval apart after the catch-up, instead of one for each interval missed', async () => {
    const m = await harness.start(false, {
      producerCheckBack: unknown,
      timings: { ...everyInterval, confirmDeadlineMs: 120_000 },
    });
    await eventually(async () => m.producerCheckBacks().length >= 1, 10_000, 'a first check-back');
    await harness.serviceWorkerDownFor(6 * INTERVAL_MS);
    const back = Date.now();
    const since = () => m.producerCheckBacks().filter((c) => c.at >= back);
    await eventually(async () => since().length >= 3, 30_000, 'three check-backs after the outage');
    const [first, second, third] = since().map((c) => c.at) as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(INTERVAL_MS - 100);
    expect(third - second).toBeGreaterThanOrEqual(INTERVAL_MS - 100);
  }, 90_000);

  it('past the confirm deadline, ask once more, then DEAD(UNCONFIRMED)', async () => {
    const m = await harness.start(false, {
      producerCheckBack: unknown,
      timings: { ...everyInterval, confirmDeadlineMs: 4 * INTERVAL_MS },
    });
    await eventually(async () => m.producerCheckBacks().length >= 1, 10_000, 'a first check-back');
    await harness.serviceWorkerDownFor(5 * INTERVAL_MS);
    const back = Date.now();
    const dead = await m.untilStatus('DEAD', 30_000);
    expect(dead.deadReason).toBe('UNCONFIRMED');
    expect(m.producerCheckBacks().filter((c) => c.at >= back)).toHaveLength(1);
  }, 90_000);
});
