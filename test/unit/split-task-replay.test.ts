import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { cancelUpdate } from '../../workflows/definitions.js';
import { uniqueId } from '../helpers/stack.js';
import { replayOptions } from '../helpers/workflow-bundle.js';
import { type FakeMessageOptions, harnessesForFile } from '../helpers/workflow-harness.js';

/**
 * Guarantee 6 (every history replays) for tasks the worker splits: a task still running a local activity
 * when it must answer a query that came with it, or when it heartbeats (a local activity past 80 % of the
 * task timeout), is completed empty and goes on in a new task. A replay runs the code before that local
 * activity with the new task's later clock, so each test puts a decision just past that clock: on a
 * workflow that decides by the clock there, its history does not replay.
 */
const EventType = temporal.api.enums.v1.EventType;

/** A task timeout whose heartbeat (80 %) comes before the slow local activities below end. */
const TASK_TIMEOUT_MS = 1000;
const SLOW_MS = 1100;

const harnesses = harnessesForFile();

/**
 * Task completions with no command: the split the tests are about (the next event is the new task, or
 * one that came meanwhile).
 */
async function emptyTaskCompletions(handle: WorkflowHandle): Promise<number> {
  const types = ((await handle.fetchHistory()).events ?? []).map((e) => e.eventType);
  return types.filter(
    (type, i) => type === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && !COMMAND_EVENTS.has(types[i + 1] ?? 0),
  ).length;
}

/** The events this workflow's commands make. */
const COMMAND_EVENTS = new Set<number>([
  EventType.EVENT_TYPE_MARKER_RECORDED,
  EventType.EVENT_TYPE_TIMER_STARTED,
  EventType.EVENT_TYPE_TIMER_CANCELED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
  EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
  EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);

async function replay(handle: WorkflowHandle): Promise<void> {
  await Worker.runReplayHistory(await replayOptions(), await handle.fetchHistory(), handle.workflowId);
}

/**
 * A send to one group whose consumer's check-back says CONSUMED (its ack never comes), resent after
 * `resendAfterMs`, its first publication taking `publishMs`.
 */
function checkedBackSend(resendAfterMs: number, publishMs: number): FakeMessageOptions {
  const group = uniqueId('stock');
  return {
    subscribers: [group],
    consumerCheckBack: { groups: [group], answer: () => 'CONSUMED' },
    timings: { resendAfterMs },
    onPublish: async (call) => {
      if (call === 1) await sleep(publishMs);
    },
  };
}

describe.concurrent('a workflow task split by the worker replays', () => {
  it("a send's first task that heartbeats: its resend is still due when the replay's clock says it is early", async () => {
    const m = await harnesses.running.start(true, {
      ...checkedBackSend(1500, SLOW_MS),
      workflowTaskTimeoutMs: TASK_TIMEOUT_MS,
    });
    const final = await m.handle.result();
    expect(final).toMatchObject({ status: 'FINISHED', sendCount: 1 });
    expect(m.consumerCheckBacks()).toHaveLength(1);
    expect(await emptyTaskCompletions(m.handle)).toBeGreaterThanOrEqual(1);
    await replay(m.handle);
  });

  it("a send's first task that answers a query sent before it started", async () => {
    const m = await harnesses.paused.start(true, checkedBackSend(1000, 300));
    // The query waits for the first task and comes with it; the local activity is still running when
    // the task answers it.
    const early = m.state().catch((err: unknown) => err);
    await sleep(300);
    harnesses.paused.resume();
    await early;
    const final = await m.handle.result();
    expect(final).toMatchObject({ status: 'FINISHED', sendCount: 1 });
    expect(await emptyTaskCompletions(m.handle)).toBeGreaterThanOrEqual(1);
    await replay(m.handle);
  });

  it('a producer check-back whose lookup heartbeats just before the confirm deadline', async () => {
    const m = await harnesses.running.start(false, {
      producerCheckBack: { via: 'taskQueue', answer: () => 'UNKNOWN' },
      timings: { checkBackAfterMs: 100, confirmDeadlineMs: 700 },
      workflowTaskTimeoutMs: TASK_TIMEOUT_MS,
      onFindCheckBack: async (call) => {
        if (call === 1) await sleep(SLOW_MS);
      },
    });
    const dead = await m.untilStatus('DEAD');
    expect(dead.deadReason).toBe('UNCONFIRMED');
    expect(m.producerCheckBacks().length).toBeGreaterThanOrEqual(1);
    await m.handle.executeUpdate(cancelUpdate, { args: [{ reason: 'test over' }] });
    expect((await m.handle.result()).status).toBe('CANCELLED');
    expect(await emptyTaskCompletions(m.handle)).toBeGreaterThanOrEqual(1);
    await replay(m.handle);
  });
});
