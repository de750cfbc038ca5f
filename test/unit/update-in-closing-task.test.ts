import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ackMessage, cancelMessage, confirmMessage, resendMessage } from '../../src/client/message-ops.js';
import { ackSignal } from '../../workflows/definitions.js';
import { type FakeMessage, WorkflowHarness } from '../helpers/workflow-harness.js';

/**
 * An update the workflow handles in a workflow task that ends the run (continues it as new, or completes
 * it), while a signal comes for the run: Temporal refuses that task's completion (UNHANDLED_COMMAND: a new
 * event came while the run was closing) and aborts the update, which never entered history, with
 * FAILED_PRECONDITION "unexpected workflow task failure". The producer's and operator's calls must still
 * succeed. Each test holds a fake activity of that task until the signal was sent, so the race is certain.
 */
let harness: WorkflowHarness;

beforeAll(async () => {
  harness = await WorkflowHarness.start();
});

afterAll(async () => {
  await harness?.stop();
});

/** A fake activity held (`here()`) until the test lets it go; `reached` once it is held. */
function hold() {
  let release = () => {};
  let reach = () => {};
  const released = new Promise<void>((r) => {
    release = r;
  });
  const reached = new Promise<void>((r) => {
    reach = r;
  });
  const here = () => {
    reach();
    return released;
  };
  return { reached, release, here };
}

/** Sends the signal while the held activity runs (so within the task), then lets the activity go. */
async function signalDuring(m: FakeMessage, held: ReturnType<typeof hold>, group: string): Promise<void> {
  await held.reached;
  await m.handle.signal(ackSignal, { group, status: 'CONSUMED' });
  held.release();
}

/** The causes of the run's workflow tasks that Temporal failed, over every run of the message. */
async function failedTaskCauses(m: FakeMessage): Promise<string[]> {
  const { WorkflowTaskFailedCause } = temporal.api.enums.v1;
  const causes: string[] = [];
  for await (const run of harness.client.workflow.list({ query: `WorkflowId = '${m.handle.workflowId}'` })) {
    const history = await harness.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    for (const e of history.events ?? []) {
      const cause = e.workflowTaskFailedEventAttributes?.cause;
      if (cause !== undefined && cause !== null) causes.push(WorkflowTaskFailedCause[cause] ?? String(cause));
    }
  }
  return causes;
}

const UNHANDLED = 'WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND';

describe.concurrent('an update handled in the workflow task that ends the run, as a signal comes', () => {
  it('a confirm whose publication fails where the run continues as new is confirmed, and delivered', async ({
    expect,
  }) => {
    const held = hold();
    const m = await harness.start(false, {
      subscribers: ['stock'],
      consumeOnPublish: ['stock'],
      // Reached when the confirm comes: the run continues as new after its publication's first failure.
      maxHistoryEvents: 5,
      timings: { checkBackAfterMs: 10_000 },
      onSnapshot: async (call) => {
        if (call === 1) await held.here();
        if (call <= 4) throw new Error('MySQL unavailable');
      },
    });
    await m.untilStatus('WAITING_CONFIRM');
    const [confirmed] = await Promise.all([
      confirmMessage(harness.client, m.key, 'producer'),
      signalDuring(m, held, 'nobody'),
    ]);
    expect(confirmed.status).toBe('SENDING');
    expect((await m.handle.result()).status).toBe('FINISHED');
    expect(await failedTaskCauses(m)).toContain(UNHANDLED);
  });

  it('an ack whose write comes where the waiting run continues as new is recorded once', async ({ expect }) => {
    const held = hold();
    const m = await harness.start(true, {
      subscribers: ['stock', 'billing'],
      maxHistoryEvents: 5,
      timings: { resendAfterMs: 10_000 },
      onSync: async (_call, input) => {
        if (input.events.some((e) => e.type === 'RECEIVED')) await held.here();
      },
    });
    await m.until((s) => s.sendCount === 1, 'published');
    const [acked] = await Promise.all([
      ackMessage(harness.client, m.key, { group: 'stock', status: 'RECEIVED' }),
      signalDuring(m, held, 'billing'),
    ]);
    expect(acked.accepted).toBe(true);
    await m.handle.signal(ackSignal, { group: 'stock', status: 'CONSUMED' });
    const final = await m.handle.result();
    expect(final.status).toBe('FINISHED');
    expect(final.deliveries.find((d) => d.group === 'stock')?.receiveCount).toBe(1);
    expect(await failedTaskCauses(m)).toContain(UNHANDLED);
  });

  it("an operator's resend whose publication comes where the run continues as new is resent", async ({ expect }) => {
    const held = hold();
    const m = await harness.start(true, {
      subscribers: ['stock', 'billing'],
      maxHistoryEvents: 5,
      timings: { resendAfterMs: 10_000 },
      onPublish: async (call) => {
        if (call === 2) await held.here();
      },
    });
    await m.until((s) => s.sendCount === 1, 'published');
    const [resent] = await Promise.all([resendMessage(harness.client, m.key), signalDuring(m, held, 'billing')]);
    expect(resent).toMatchObject({ status: 'SENDING', sendRound: 0 });
    const republished = await m.until((s) => s.sendCount === 2, 'the resend published');
    expect(republished.deliveries.map((d) => [d.group, d.status])).toEqual([
      ['stock', 'PENDING'],
      ['billing', 'CONSUMED'],
    ]);
    await m.handle.signal(ackSignal, { group: 'stock', status: 'CONSUMED' });
    expect((await m.handle.result()).status).toBe('FINISHED');
    expect(await failedTaskCauses(m)).toContain(UNHANDLED);
  });

  it('a cancel whose final write comes as the run completes is cancelled', async ({ expect }) => {
    const held = hold();
    const m = await harness.start(false, {
      subscribers: ['stock'],
      timings: { checkBackAfterMs: 10_000 },
      onSync: async (_call, input) => {
        if (input.state.status === 'CANCELLED') await held.here();
      },
    });
    await m.untilStatus('WAITING_CONFIRM');
    const [cancelled] = await Promise.all([
      cancelMessage(harness.client, m.key, 'producer', 'rolled back'),
      signalDuring(m, held, 'nobody'),
    ]);
    expect(cancelled.status).toBe('CANCELLED');
    expect((await m.handle.result()).status).toBe('CANCELLED');
    expect(await failedTaskCauses(m)).toContain(UNHANDLED);
  });
});
