import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ackSignal } from '../../workflows/definitions.js';
import { replayOptions } from '../helpers/workflow-bundle.js';
import { type FakeMessage, WorkflowHarness } from '../helpers/workflow-harness.js';

/**
 * Acks that come late: after the message went DEAD (and its run continued as new while it waited), or
 * while a resend is being retried with RocketMQ down. They count, and what the workflow does next follows
 * them. The messages are independent, so the tests run concurrently.
 */
let harness: WorkflowHarness;

beforeAll(async () => {
  harness = await WorkflowHarness.start();
});

afterAll(async () => {
  await harness?.stop();
});

const runIdOf = async (m: FakeMessage) => (await m.handle.describe()).runId;
const deliveriesOf = (s: { deliveries: { group: string; status: string }[] }) =>
  s.deliveries.map((d) => [d.group, d.status]);
/** Replays the message's last run with the current code (every history replays). */
const replayLastRun = async (m: FakeMessage) =>
  Worker.runReplayHistory(await replayOptions(), await m.handle.fetchHistory(), m.handle.workflowId);

/**
 * A send to groups a and b, published once; neither reported, and its first resend failed: RocketMQ is
 * down until `brokerBack()`.
 */
async function resendFailing(): Promise<{ m: FakeMessage; brokerBack: () => void }> {
  let brokerDown = true;
  const m = await harness.start(true, {
    subscribers: ['a', 'b'],
    timings: { resendAfterMs: 300, maxSends: 5, maxResendIntervalMs: 60_000 },
    onPublish: (call) => {
      if (call >= 2 && brokerDown) throw new Error('RocketMQ unavailable');
    },
  });
  await m.until((s) => s.sendCount === 1, 'first publication');
  await m.until(() => m.publishAttempts >= 2, 'the resend tried');
  return { m, brokerBack: () => (brokerDown = false) };
}

describe.concurrent('late acks', () => {
  it('a DEAD(UNCONSUMED) message whose run continued as new is FINISHED once its last group consumes', async ({
    expect,
  }) => {
    const m = await harness.start(true, {
      subscribers: ['a', 'b'],
      consumeOnPublish: ['a'],
      timings: { maxSends: 1, resendAfterMs: 200 },
      maxHistoryEvents: 60,
    });
    await m.untilStatus('DEAD', 15_000);
    const firstRun = await runIdOf(m);
    // Late copies reach b, whose handler fails: each receipt grows the DEAD run's history until it
    // continues as new, still DEAD.
    for (let i = 0; i < 40 && (await runIdOf(m)) === firstRun; i++) {
      await m.handle.signal(ackSignal, { group: 'b', status: 'RECEIVED' });
      await sleep(150);
    }
    expect(await runIdOf(m)).not.toBe(firstRun);
    expect((await m.state()).status).toBe('DEAD');

    await m.handle.signal(ackSignal, { group: 'b', status: 'CONSUMED' });
    const finished = await m.untilStatus('FINISHED', 5000);
    expect(deliveriesOf(finished)).toEqual([
      ['a', 'CONSUMED'],
      ['b', 'CONSUMED'],
    ]);
    expect((await m.handle.result()).status).toBe('FINISHED');
    expect(m.publishes).toHaveLength(1);
    await replayLastRun(m);
  }, 60_000);

  it('a DEAD(UNCONSUMED) message FINISHED by a late ack no longer shows a DEAD reason or time', async ({ expect }) => {
    const m = await harness.start(true, {
      subscribers: ['a', 'b'],
      consumeOnPublish: ['a'],
      timings: { maxSends: 1, resendAfterMs: 200 },
    });
    await m.untilStatus('DEAD', 15_000);
    await m.handle.signal(ackSignal, { group: 'b', status: 'CONSUMED' });
    const final = await m.handle.result();
    const written = m.syncs.at(-1)?.state;
    for (const s of [final, written]) {
      expect([s?.status, s?.deadReason, s?.deadAt]).toEqual(['FINISHED', undefined, undefined]);
    }
  }, 60_000);

  it('a resend retried while RocketMQ is down goes only to the groups that have not consumed meanwhile', async ({
    expect,
  }) => {
    const { m, brokerBack } = await resendFailing();
    // a's report of the first publication comes now (it was slow).
    await m.handle.signal(ackSignal, { group: 'a', status: 'CONSUMED', received: true });
    await m.until((s) => s.deliveries.find((d) => d.group === 'a')?.status === 'CONSUMED', 'a consumed');
    brokerBack();
    const s = await m.until((x) => x.sendCount === 2, 'the resend published', 20_000);
    expect(m.publishes[1]?.groups).toEqual(['b']);
    expect(s.deliveries.map((d) => [d.group, d.sendCount])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    await m.handle.signal(ackSignal, { group: 'b', status: 'CONSUMED', received: true });
    expect((await m.handle.result()).status).toBe('FINISHED');
    await replayLastRun(m);
  }, 60_000);

  it('a resend retried while RocketMQ is down is dropped when every group consumed meanwhile: FINISHED', async ({
    expect,
  }) => {
    const { m } = await resendFailing();
    await m.handle.signal(ackSignal, { group: 'a', status: 'CONSUMED', received: true });
    await m.handle.signal(ackSignal, { group: 'b', status: 'CONSUMED', received: true });
    const final = await m.untilStatus('FINISHED', 10_000);
    expect(final).toMatchObject({ status: 'FINISHED', sendCount: 1 });
    expect(m.publishes).toHaveLength(1);
    await replayLastRun(m);
  }, 60_000);
});
