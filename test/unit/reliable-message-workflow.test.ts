import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  ackSignal,
  ackUpdate,
  cancelUpdate,
  confirmUpdate,
  FailureType,
  resendUpdate,
  SearchAttribute,
  visibleStatus,
} from '../../workflows/definitions.js';
import { eventually } from '../helpers/eventually.js';
import { uniqueId } from '../helpers/stack.js';
import { UNIT_TIMINGS } from '../helpers/unit-timings.js';
import { type FakeMessage, WorkflowHarness } from '../helpers/workflow-harness.js';

/**
 * The reliable-message workflow on the local Temporal with fake activities: every phase of the protocol,
 * with timings of a fraction of a second. The messages are independent, so the tests run concurrently.
 */
let harness: WorkflowHarness;

beforeAll(async () => {
  harness = await WorkflowHarness.start();
});

afterAll(async () => {
  await harness?.stop();
});

/** A check-back giving these answers in turn (an Error is a failing call); the last one repeats. */
const answering =
  (...answers: unknown[]) =>
  (call: number) => {
    const answer = answers[Math.min(call, answers.length) - 1];
    if (answer instanceof Error) throw answer;
    return answer;
  };

/** An activity's refusal that no retry cures, as the real activities raise it. */
const refusing = (type: string, message: string) => () => {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
};

/** The versions of the projection writes, in the order they were made. */
const writtenVersions = (m: FakeMessage) => m.syncs.map((w) => w.state.version);
const checkBackAnswers = (m: FakeMessage) =>
  m.syncs
    .flatMap((w) => w.events)
    .filter((e) => e.type === 'CHECK_BACK')
    .map((e) => e.detail?.answer);
/** The statuses the run upserted into its MessageStatus search attribute, in order. */
const upsertedStatuses = async (m: FakeMessage) =>
  ((await m.handle.fetchHistory()).events ?? []).flatMap((e) =>
    e.upsertWorkflowSearchAttributesEventAttributes ? [searchAttributeStatus(e)] : [],
  );
const searchAttributeStatus = (e: temporal.api.history.v1.IHistoryEvent) => {
  const payload = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.MessageStatus;
  return payload?.data ? JSON.parse(Buffer.from(payload.data).toString()) : undefined;
};
/** The status an operator reads in Temporal visibility for this message. */
const statusInVisibility = async (m: FakeMessage) => {
  const record = await m.handle.describe();
  return visibleStatus(record.typedSearchAttributes.get(SearchAttribute.status), record.status.name);
};
const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > (xs[i - 1] as number));

describe.concurrent('the reliable-message workflow with fake activities', () => {
  it('a sent message is published once to its subscribers and FINISHED when each reported CONSUMED', async ({
    expect,
  }) => {
    // No resend comes between the acks.
    const m = await harness.start(true, { subscribers: ['stock', 'billing'], timings: { resendAfterMs: 10_000 } });
    await m.until((s) => s.sendCount === 1, 'published');
    await m.handle.signal(ackSignal, { group: 'stock', status: 'CONSUMED', received: true });
    await m.handle.executeUpdate(ackUpdate, { args: [{ group: 'billing', status: 'RECEIVED' }] });
    await m.handle.executeUpdate(ackUpdate, { args: [{ group: 'billing', status: 'CONSUMED' }] });
    const final = await m.handle.result();

    expect(final.status).toBe('FINISHED');
    expect(final.deliveries.map((d) => [d.group, d.status, d.sendCount])).toEqual([
      ['stock', 'CONSUMED', 1],
      ['billing', 'CONSUMED', 1],
    ]);
    expect(m.subscriberSnapshots).toEqual([{ topic: m.topic }]);
    expect(m.publishes.map((p) => [p.groups, p.round])).toEqual([[['stock', 'billing'], 1]]);
    expect(m.publishes[0]?.message).toMatchObject({ key: m.key, topic: m.topic, producerGroup: m.producerGroup });
    // Each projection write is newer than the last; the message row is created once, by the first.
    expect(increasing(writtenVersions(m)), String(writtenVersions(m))).toBe(true);
    expect(m.syncs.map((w) => w.message !== undefined)).toEqual([true, ...m.syncs.slice(1).map(() => false)]);
    // The first task writes once, after the publication: the row is created already published.
    expect(m.syncs[0]?.events.map((e) => e.type)).toEqual(['PREPARED', 'SUBSCRIBERS', 'PUBLISHED']);
    expect(m.syncs.at(-1)?.state).toEqual(final);
    expect(m.writtenEvents()).toEqual([
      'PREPARED',
      'SUBSCRIBERS',
      'PUBLISHED',
      'RECEIVED',
      'CONSUMED',
      'RECEIVED',
      'CONSUMED',
      'FINISHED',
    ]);
    // The resend timer is left to the run's end, not cancelled when the last ack comes.
    const { EventType } = temporal.api.enums.v1;
    const timerEvents = ((await m.handle.fetchHistory()).events ?? [])
      .map((e) => e.eventType)
      .filter((type) => type === EventType.EVENT_TYPE_TIMER_STARTED || type === EventType.EVENT_TYPE_TIMER_CANCELED);
    expect(timerEvents).toEqual([EventType.EVENT_TYPE_TIMER_STARTED]);
    // It ends still showing SENDING, the status it started with, without an upsert: a completed run that
    // shows SENDING is FINISHED.
    expect(await upsertedStatuses(m)).toEqual([]);
    expect(await statusInVisibility(m)).toBe('FINISHED');
  });

  it('a prepared message confirmed before its check-back time is published without asking the producer', async ({
    expect,
  }) => {
    const m = await harness.start(false, {
      subscribers: ['stock'],
      producerCheckBack: { via: 'taskQueue', answer: answering('ROLLBACK') },
      timings: { checkBackAfterMs: 10_000 },
    });
    expect((await m.untilStatus('WAITING_CONFIRM')).confirmedAt).toBeUndefined();
    const confirmed = await m.handle.executeUpdate(confirmUpdate, { args: [{}] });
    expect(confirmed.status).toBe('SENDING');
    // A repeated confirm changes nothing.
    expect((await m.handle.executeUpdate(confirmUpdate, { args: [{}] })).confirmedAt).toBe(confirmed.confirmedAt);
    await m.handle.signal(ackSignal, { group: 'stock', status: 'CONSUMED' });
    expect((await m.handle.result()).status).toBe('FINISHED');
    expect(m.producerCheckBacks()).toEqual([]);
    expect(m.writtenEvents().filter((e) => e === 'CONFIRMED')).toHaveLength(1);
    // SENDING is shown at the confirm; FINISHED needs no upsert of its own.
    expect(await upsertedStatuses(m)).toEqual(['SENDING']);
    expect(await statusInVisibility(m)).toBe('FINISHED');
  });

  it('a run that continues as new before its confirm was shown still shows SENDING, and finishes showing it', async ({
    expect,
  }) => {
    // The confirm's publication fails (MySQL down for the subscriber lookup) until the history passes its
    // limit: the run continues as new after a failed try, before any task upserted SENDING.
    const m = await harness.start(false, {
      subscribers: ['stock'],
      consumeOnPublish: ['stock'],
      maxHistoryEvents: 12,
      timings: { checkBackAfterMs: 10_000 },
      onSnapshot: (call) => {
        if (call <= 4) throw new Error('MySQL unavailable');
      },
    });
    await m.untilStatus('WAITING_CONFIRM');
    await m.handle.executeUpdate(confirmUpdate, { args: [{}] });
    expect((await m.handle.result()).status).toBe('FINISHED');
    const runs: string[] = [];
    for await (const run of harness.client.workflow.list({ query: `WorkflowId = '${m.handle.workflowId}'` }))
      runs.push(run.status.name);
    expect(runs).toContain('CONTINUED_AS_NEW');
    expect(await statusInVisibility(m)).toBe('FINISHED');
  });

  it('a crash between commit and confirm is delivered by the check-back answering COMMIT', async ({ expect }) => {
    const m = await harness.start(false, {
      subscribers: ['stock'],
      consumeOnPublish: ['stock'],
      producerCheckBack: { via: 'taskQueue', answer: answering('COMMIT') },
    });
    const final = await m.handle.result();
    expect(final).toMatchObject({ status: 'FINISHED', checkBackCount: 1, sendCount: 1 });
    // Told the message's age: a key it no longer has a record of may be one it purged.
    expect(m.producerCheckBacks()).toMatchObject([{ via: 'taskQueue', createdAt: final.createdAt }]);
    const confirmed = m.syncs.flatMap((w) => w.events).find((e) => e.type === 'CONFIRMED');
    expect(confirmed?.detail).toEqual({ by: 'check-back' });
    // Published only after the check-back said the business committed.
    expect(m.publishes[0]?.at).toBeGreaterThanOrEqual(m.producerCheckBacks()[0]?.at ?? Infinity);
  });

  it('a check-back over HTTP answering ROLLBACK cancels the message, and nothing is published', async ({ expect }) => {
    const m = await harness.start(false, {
      subscribers: ['stock'],
      producerCheckBack: { via: 'http', answer: answering('ROLLBACK') },
    });
    const final = await m.handle.result();
    expect(final).toMatchObject({ status: 'CANCELLED', cancelReason: 'check-back answered ROLLBACK', sendCount: 0 });
    expect(m.producerCheckBacks()).toMatchObject([{ via: 'http', createdAt: final.createdAt }]);
    expect(m.publishAttempts).toBe(0);
    expect(m.subscriberSnapshots).toEqual([]);
    expect(await upsertedStatuses(m)).toEqual(['CANCELLED']);
    expect(await statusInVisibility(m)).toBe('CANCELLED');
  });

  it('a check-back answering UNKNOWN is asked again later, after a longer interval', async ({ expect }) => {
    const m = await harness.start(false, {
      subscribers: ['stock'],
      consumeOnPublish: ['stock'],
      producerCheckBack: { via: 'taskQueue', answer: answering('UNKNOWN', 'UNKNOWN', 'COMMIT') },
    });
    const final = await m.handle.result();
    expect(final).toMatchObject({ status: 'FINISHED', checkBackCount: 3 });
    expect(checkBackAnswers(m)).toEqual(['UNKNOWN', 'UNKNOWN', 'COMMIT']);
    // The intervals between check-backs grow by the backoff.
    const [first, second, third] = m.producerCheckBacks().map((c) => c.at) as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(UNIT_TIMINGS.checkBackAfterMs * UNIT_TIMINGS.checkBackBackoff - 20);
    expect(third - second).toBeGreaterThanOrEqual(
      UNIT_TIMINGS.checkBackAfterMs * UNIT_TIMINGS.checkBackBackoff ** 2 - 20,
    );
  });

  it('a failing check-back and a malformed answer are asked again later, never taken as COMMIT', async ({ expect }) => {
    const m = await harness.start(false, {
      subscribers: ['stock'],
      consumeOnPublish: ['stock'],
      producerCheckBack: { via: 'http', answer: answering(new Error('order service down'), 'yes please', 'COMMIT') },
    });
    const final = await m.handle.result();
    expect(final).toMatchObject({ status: 'FINISHED', checkBackCount: 3 });
    expect(checkBackAnswers(m)).toEqual(['ERROR', 'MALFORMED', 'COMMIT']);
    expect(m.publishes[0]?.at).toBeGreaterThanOrEqual(m.producerCheckBacks()[2]?.at ?? Infinity);
  });

  it('a message neither confirmed nor cancelled by its deadline is DEAD(UNCONFIRMED); an operator confirm delivers it', async ({
    expect,
  }) => {
    const m = await harness.start(false, {
      subscribers: ['stock'],
      consumeOnPublish: ['stock'],
      timings: { confirmDeadlineMs: 600 },
    });
    const dead = await m.untilStatus('DEAD');
    expect(dead).toMatchObject({ deadReason: 'UNCONFIRMED', sendCount: 0 });
    // The producer registered no check-back: nobody could answer for it.
    expect(m.producerCheckBacks()).toEqual([]);
    expect(m.publishAttempts).toBe(0);

    await m.handle.executeUpdate(confirmUpdate, { args: [{ by: 'operator' }] });
    expect((await m.handle.result()).status).toBe('FINISHED');
    expect(m.publishes).toHaveLength(1);
  });

  it('a group that never consumes is resent to until maxSends, then DEAD(UNCONSUMED); a group that consumed is not resent to', async ({
    expect,
  }) => {
    // Resends late enough that stock's ack, sent as the first publication goes out, always comes first.
    const resendAfterMs = 400;
    const m = await harness.start(true, {
      subscribers: ['stock', 'billing'],
      consumeOnPublish: ['stock'],
      timings: { resendAfterMs, maxSends: 2 },
    });
    const dead = await m.untilStatus('DEAD');
    expect(dead).toMatchObject({ deadReason: 'UNCONSUMED', sendRound: 2 });
    expect(dead.deliveries.map((d) => [d.group, d.status, d.sendCount])).toEqual([
      ['stock', 'CONSUMED', 1],
      ['billing', 'DEAD', 2],
    ]);
    expect(m.publishes.map((p) => [p.groups, p.round])).toEqual([
      [['stock', 'billing'], 1],
      [['billing'], 2],
    ]);
    // Neither group has a consumer check-back: the resend goes out without asking one.
    expect(m.writtenEvents()).not.toContain('CONSUMER_CHECK_BACK');
    // In the workflow's own time: the resend came after the interval, and DEAD only once the last send's
    // interval, grown by the backoff, passed unconsumed.
    const sentAt = (type: string) => m.syncs.flatMap((w) => w.events).find((e) => e.type === type)?.at ?? NaN;
    expect(sentAt('RESENT') - sentAt('PUBLISHED')).toBeGreaterThanOrEqual(resendAfterMs);
    const lastSentAt = dead.deliveries[1]?.lastSentAt ?? NaN;
    expect(dead.deadAt).toBeGreaterThanOrEqual(lastSentAt + resendAfterMs * UNIT_TIMINGS.resendBackoff);

    // An operator's resend gives a fresh send budget and publishes at once, to the group still pending.
    const resent = await m.handle.executeUpdate(resendUpdate);
    expect(resent).toMatchObject({ status: 'SENDING', sendRound: 0 });
    await m.until((s) => s.sendCount === 3, 'the operator resend published');
    expect(m.publishes.at(-1)?.groups).toEqual(['billing']);
    await m.handle.signal(ackSignal, { group: 'billing', status: 'CONSUMED' });
    expect((await m.handle.result()).status).toBe('FINISHED');
  });

  it('an ack that arrives after DEAD(UNCONSUMED) still counts and finishes the message', async ({ expect }) => {
    const m = await harness.start(true, { subscribers: ['stock'], timings: { maxSends: 1 } });
    expect((await m.untilStatus('DEAD')).deadReason).toBe('UNCONSUMED');
    await m.handle.signal(ackSignal, { group: 'stock', status: 'CONSUMED', received: true });
    const final = await m.handle.result();
    expect(final.status).toBe('FINISHED');
    expect(final.deliveries).toMatchObject([{ group: 'stock', status: 'CONSUMED', receiveCount: 1 }]);
    expect(m.publishes).toHaveLength(1);
    // A run that showed DEAD upserts FINISHED as it ends: its search attribute alone says FINISHED.
    expect(await upsertedStatuses(m)).toEqual(['DEAD', 'FINISHED']);
    expect((await m.handle.describe()).typedSearchAttributes.get(SearchAttribute.status)).toBe('FINISHED');
  });

  it('a consumer check-back is asked before each resend: NOT_CONSUMED resends, CONSUMED counts as the ack', async ({
    expect,
  }) => {
    const stock = uniqueId('stock');
    const m = await harness.start(true, {
      subscribers: [stock],
      consumerCheckBack: { groups: [stock], answer: answering('NOT_CONSUMED', 'CONSUMED') },
    });
    const final = await m.handle.result();
    expect(final.status).toBe('FINISHED');
    expect(m.publishes.map((p) => [p.groups, p.round])).toEqual([
      [[stock], 1],
      [[stock], 2],
    ]);
    expect(m.consumerCheckBacks()).toHaveLength(2);
    // The resend came after the check-back that said NOT_CONSUMED.
    expect(m.publishes[1]?.at).toBeGreaterThanOrEqual(m.consumerCheckBacks()[0]?.at ?? Infinity);
    expect(m.writtenEvents().filter((e) => e === 'CONSUMER_CHECK_BACK')).toHaveLength(2);
  });

  it('RocketMQ refusing the publication for good makes the message DEAD(REJECTED) without retrying', async ({
    expect,
  }) => {
    const m = await harness.start(true, {
      subscribers: ['stock'],
      onPublish: refusing(FailureType.publishRejected, 'RocketMQ rejected the message: topic not found'),
    });
    const dead = await m.untilStatus('DEAD');
    expect(dead).toMatchObject({
      deadReason: 'REJECTED',
      lastError: 'RocketMQ rejected the message: topic not found',
      sendCount: 0,
    });
    expect(dead.deliveries).toMatchObject([{ group: 'stock', status: 'DEAD' }]);
    expect(m.publishAttempts).toBe(1);
    // Operators find it by status in Temporal UI.
    await eventually(
      async () => (await m.handle.describe()).typedSearchAttributes.get(SearchAttribute.status) === 'DEAD',
      5000,
      'MessageStatus DEAD',
    );
  });

  it('a key that belongs to an earlier message ends the run DEAD(KEY_REUSED) before anything is published', async ({
    expect,
  }) => {
    // The database answers alike to the key's read before the publication and to a first write.
    const m = await harness.start(true, {
      subscribers: ['stock'],
      keyHeldBy: 'key was used by an earlier message',
      onSync: refusing(FailureType.keyReused, 'key was used by an earlier message'),
    });
    const final = await m.handle.result();
    expect(final).toMatchObject({
      status: 'DEAD',
      deadReason: 'KEY_REUSED',
      lastError: 'key was used by an earlier message',
    });
    // The subscribers read with the refused first write are not the message's: it has none.
    expect(final.deliveries).toEqual([]);
    expect(final.subscribedAt).toBeUndefined();
    expect(m.publishAttempts).toBe(0);
  });

  it('a publish that fails is retried on a workflow timer, and the failure is written to the projection once', async ({
    expect,
  }) => {
    const m = await harness.start(true, {
      subscribers: ['stock'],
      consumeOnPublish: ['stock'],
      onPublish: (call) => {
        if (call === 1) throw new Error('broker unavailable');
      },
    });
    const final = await m.handle.result();
    expect(final).toMatchObject({ status: 'FINISHED', sendCount: 1 });
    expect(final.lastError).toBeUndefined();
    expect(m.publishAttempts).toBe(2);
    const failed = m.syncs.flatMap((w) => w.events).filter((e) => e.type === 'PUBLISH_FAILED');
    expect(failed).toMatchObject([{ detail: { error: expect.stringContaining('broker unavailable') } }]);
    const timers = (await m.handle.fetchHistory()).events?.filter((e) => e.timerStartedEventAttributes) ?? [];
    expect(timers.map((e) => Number(e.timerStartedEventAttributes?.startToFireTimeout?.seconds))).toContain(1);
  });

  it('the final write is made as the last task completes; while it fails the task is retried, and the run completes only once it landed', async ({
    expect,
  }) => {
    let finalWriteFailures = 0;
    const m = await harness.start(true, {
      subscribers: ['stock'],
      consumeOnPublish: ['stock'],
      onSync: (_call, input) => {
        if (input.state.status === 'FINISHED' && finalWriteFailures < 2) {
          finalWriteFailures += 1;
          throw new Error('MySQL unavailable');
        }
      },
    });
    const final = await m.handle.result();
    expect(final).toMatchObject({ status: 'FINISHED' });
    expect(finalWriteFailures).toBe(2);
    // The write that landed holds the final state, and nothing was written after it.
    expect(m.syncs.at(-1)?.state).toMatchObject({ status: 'FINISHED', version: final.version });
    expect(m.writtenEvents()).toEqual(['PREPARED', 'SUBSCRIBERS', 'PUBLISHED', 'RECEIVED', 'CONSUMED', 'FINISHED']);
    const events = (await m.handle.fetchHistory()).events ?? [];
    // No local activity for it (the first task's is the only marker); each failed try is a failed task.
    const { EventType } = temporal.api.enums.v1;
    expect(events.filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED)).toHaveLength(1);
    const failed = events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const e of failed) {
      expect(e.workflowTaskFailedEventAttributes?.failure?.message).toMatch(
        new RegExp(`final projection write of message ${m.key} failed.*MySQL unavailable`),
      );
    }
  });

  it('a message nobody subscribes to is still published once, then FINISHED', async ({ expect }) => {
    const m = await harness.start(true);
    const final = await m.handle.result();
    expect(final).toMatchObject({ status: 'FINISHED', deliveries: [], sendCount: 1 });
    expect(m.publishes.map((p) => p.groups)).toEqual([[]]);
    expect(m.writtenEvents()).toEqual(['PREPARED', 'NO_SUBSCRIBERS', 'PUBLISHED', 'FINISHED']);
  });

  it('the validator rejects a cancel after confirm and an ack from a non-subscriber; neither enters history', async ({
    expect,
  }) => {
    // No resend comes between the two readings of the state.
    const m = await harness.start(true, { subscribers: ['stock'], timings: { resendAfterMs: 10_000 } });
    const before = await m.until((s) => s.sendCount === 1, 'published');
    await expect(m.handle.executeUpdate(cancelUpdate, { args: [{ reason: 'changed my mind' }] })).rejects.toMatchObject(
      {
        cause: { type: FailureType.invalidTransition, message: expect.stringMatching(/already confirmed/) },
      },
    );
    await expect(
      m.handle.executeUpdate(ackUpdate, { args: [{ group: 'stranger', status: 'CONSUMED' }] }),
    ).rejects.toMatchObject({ cause: { type: FailureType.notASubscriber } });
    const after = await m.state();
    expect(after.status).toBe('SENDING');
    expect(after.version).toBe(before.version);
    const history = (await m.handle.fetchHistory()).events ?? [];
    expect(history.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toEqual([]);
  });
});
