import { describe, expect, it } from 'vitest';
import { resolveTimings } from '../../src/timings.js';
import type { Timings } from '../../workflows/definitions.js';
import * as M from '../../workflows/message-state.js';

const timings: Timings = {
  checkBackAfterMs: 1000,
  checkBackBackoff: 2,
  maxCheckBackIntervalMs: 5000,
  confirmDeadlineMs: 60_000,
  resendAfterMs: 1000,
  resendBackoff: 2,
  maxResendIntervalMs: 3000,
  maxSends: 3,
  checkBackTimeoutMs: 1000,
};
const spec = { key: 'k1', topic: 't', body: 'b', producerGroup: 'p' };
const tracked = (confirmed = false): M.Tracked => ({
  state: M.initialState(spec, timings, 0, confirmed),
  unsynced: [],
});

describe('message state transitions', () => {
  it('confirm moves WAITING_CONFIRM to SENDING once, with one event', () => {
    const t = tracked();
    M.confirm(t, 5, 'producer');
    M.confirm(t, 6, 'producer');
    expect(t.state.status).toBe('SENDING');
    expect(t.state.confirmedAt).toBe(5);
    expect(t.unsynced.map((e) => e.type)).toEqual(['CONFIRMED']);
  });

  it('refuses confirm after cancel and cancel after confirm', () => {
    const cancelled = tracked();
    M.cancel(cancelled, 1, 'producer', 'rolled back');
    expect(() => M.confirm(cancelled, 2, 'producer')).toThrow(/was cancelled \(rolled back\)/);
    const confirmed = tracked(true);
    expect(() => M.cancel(confirmed, 2, 'producer')).toThrow(/already confirmed/);
  });

  it('an operator may confirm or cancel a DEAD(UNCONFIRMED) message, but not resend it', () => {
    const t = tracked();
    M.markDead(t, 10, 'UNCONFIRMED');
    expect(() => M.operatorResend(t, 11)).toThrow(/confirm or cancel it/);
    M.confirm(t, 12, 'operator');
    expect(t.state).toMatchObject({ status: 'SENDING', deadReason: undefined });
  });

  it('acks: received counts every delivery, consumed is final, failures keep the error, strangers are ignored', () => {
    const t = tracked(true);
    M.snapshotSubscribers(t, 1, ['a', 'b']);
    M.applyAck(t, 2, { group: 'a', status: 'RECEIVED' });
    M.applyAck(t, 3, { group: 'a', status: 'FAILED', error: 'boom' });
    M.applyAck(t, 4, { group: 'a', status: 'RECEIVED' });
    expect(t.state.deliveries[0]).toMatchObject({ status: 'RECEIVED', receiveCount: 2, lastError: 'boom' });
    M.applyAck(t, 5, { group: 'a', status: 'CONSUMED' });
    M.applyAck(t, 6, { group: 'a', status: 'RECEIVED' });
    expect(t.state.deliveries[0]).toMatchObject({ status: 'CONSUMED', lastError: undefined, consumedAt: 5 });
    const before = { version: t.state.version, events: t.unsynced.length };
    M.applyAck(t, 7, { group: 'zzz', status: 'CONSUMED' });
    expect({ version: t.state.version, events: t.unsynced.length }).toEqual(before);
    expect(() => M.checkAckSender(t.state, 'zzz')).toThrow(
      /group zzz is not a subscriber of message .* \(subscribers: a, b\)/,
    );
    expect(() => M.checkAckSender(t.state, 'b')).not.toThrow();
    expect(M.pendingGroups(t.state)).toEqual(['b']);
    expect(M.allConsumed(t.state)).toBe(false);
  });

  it('DEAD marks only unconsumed deliveries; a late ack still counts; an operator resend gives a fresh budget', () => {
    const t = tracked(true);
    M.snapshotSubscribers(t, 1, ['a', 'b']);
    M.published(t, 2, ['a', 'b'], 'm1');
    M.applyAck(t, 3, { group: 'a', status: 'CONSUMED' });
    M.markDead(t, 4, 'UNCONSUMED');
    expect(t.state.deliveries.map((d) => d.status)).toEqual(['CONSUMED', 'DEAD']);
    M.operatorResend(t, 5);
    expect(t.state).toMatchObject({ status: 'SENDING', sendRound: 0, nextResendAt: 5 });
    expect(t.state.deliveries[1]?.status).toBe('PENDING');
    M.applyAck(t, 6, { group: 'b', status: 'CONSUMED' });
    expect(M.allConsumed(t.state)).toBe(true);
  });

  it('versions and event sequence numbers grow with every change', () => {
    const t = tracked();
    M.record(t, 1, 'PREPARED');
    M.confirm(t, 2, 'producer');
    expect(t.unsynced.map((e) => e.seq)).toEqual([1, 2]);
    expect(t.state.version).toBe(2);
  });
});

describe('backoff', () => {
  it('resend intervals grow by the backoff up to the cap', () => {
    expect([1, 2, 3, 4].map((r) => M.resendInterval(timings, r))).toEqual([1000, 2000, 3000, 3000]);
  });
  it('check-back intervals grow by the backoff up to the cap', () => {
    expect([1, 2, 3].map((c) => M.checkBackInterval(timings, c))).toEqual([2000, 4000, 5000]);
  });
  it('publication schedules the next resend after the delay plus the interval', () => {
    const t = tracked(true);
    M.snapshotSubscribers(t, 0, ['a']);
    M.published(t, 100, ['a'], 'm1', 500);
    expect(t.state.nextResendAt).toBe(100 + 500 + 1000);
    expect(t.state.deliveries[0]).toMatchObject({ sendCount: 1, lastSentAt: 100 });
  });
});

describe('timings resolution', () => {
  it('raises a cap that a per-message first interval exceeds, so the override is not cut short', () => {
    const resolved = resolveTimings(timings, { resendAfterMs: 20_000, checkBackAfterMs: 9000 }, 1);
    expect(resolved).toMatchObject({
      resendAfterMs: 20_000,
      maxResendIntervalMs: 20_000,
      maxCheckBackIntervalMs: 9000,
    });
    expect(resolveTimings(timings, {}, 1).maxResendIntervalMs).toBe(3000);
  });
});

describe('late receipts', () => {
  it('a copy received after DEAD is counted but the delivery stays DEAD', () => {
    const t = tracked(true);
    M.snapshotSubscribers(t, 1, ['a']);
    M.markDead(t, 2, 'UNCONSUMED');
    M.applyAck(t, 3, { group: 'a', status: 'RECEIVED' });
    expect(t.state.deliveries[0]).toMatchObject({ status: 'DEAD', receiveCount: 1 });
  });

  it('a DEAD message finished by late acks no longer shows a DEAD reason or time', () => {
    const t = tracked(true);
    M.snapshotSubscribers(t, 1, ['a']);
    M.published(t, 2, ['a'], 'm1');
    M.markDead(t, 3, 'UNCONSUMED');
    M.applyAck(t, 4, { group: 'a', status: 'CONSUMED' });
    M.finish(t, 5);
    expect(t.state).toMatchObject({ status: 'FINISHED', finishedAt: 5, deadReason: undefined, deadAt: undefined });
    expect(M.describe(t.state)).toMatch(/^\*\*FINISHED\*\* ·/);
    expect(t.unsynced.map((e) => e.type)).toEqual(['SUBSCRIBERS', 'PUBLISHED', 'DEAD', 'CONSUMED', 'FINISHED']);
  });
});

describe('folded receipts', () => {
  it('a CONSUMED report that stands for the receipt counts it and records both events', () => {
    const t = tracked(true);
    M.snapshotSubscribers(t, 1, ['a']);
    M.applyAck(t, 2, { group: 'a', status: 'CONSUMED', received: true });
    expect(t.state.deliveries[0]).toMatchObject({ status: 'CONSUMED', receiveCount: 1, receivedAt: 2 });
    expect(t.unsynced.slice(-2).map((e) => e.type)).toEqual(['RECEIVED', 'CONSUMED']);
  });
});

describe('publication edges', () => {
  it('a message nobody subscribes to is still published once, then counts as all consumed', () => {
    const t = tracked(true);
    M.snapshotSubscribers(t, 1, []);
    expect(t.unsynced.at(-1)?.type).toBe('NO_SUBSCRIBERS');
    expect(M.allConsumed(t.state)).toBe(false);
    expect(M.publicationDue(t.state, 1)).toBe(true);
    M.published(t, 2, [], 'm1');
    expect(M.allConsumed(t.state)).toBe(true);
    expect(M.publicationDue(t.state, 1_000_000)).toBe(false);
  });

  it('a failing publish shows its error once per distinct cause, and a success clears it', () => {
    const t = tracked(true);
    M.snapshotSubscribers(t, 1, ['a']);
    M.publishFailed(t, 2, 'proxy down');
    M.publishFailed(t, 3, 'proxy down');
    M.publishFailed(t, 4, 'timeout');
    expect(t.unsynced.filter((e) => e.type === 'PUBLISH_FAILED').map((e) => e.detail?.error)).toEqual([
      'proxy down',
      'timeout',
    ]);
    expect(t.state.lastError).toBe('timeout');
    M.published(t, 5, ['a'], 'm1');
    expect(t.state.lastError).toBeUndefined();
  });

  it('DEAD(REJECTED) keeps RocketMQ reason; an operator resend clears it and sends again', () => {
    const t = tracked(true);
    M.snapshotSubscribers(t, 1, ['a']);
    M.markDead(t, 2, 'REJECTED', 'topic not found');
    expect(t.state).toMatchObject({ status: 'DEAD', deadReason: 'REJECTED', lastError: 'topic not found' });
    expect(t.unsynced.at(-1)?.detail).toMatchObject({ reason: 'REJECTED', error: 'topic not found' });
    M.operatorResend(t, 3);
    expect(t.state).toMatchObject({ status: 'SENDING', deadReason: undefined, lastError: undefined });
    expect(M.publicationDue(t.state, 3)).toBe(true);
  });

  it('a resend is due from its time on, and an operator resend at once, whatever the clock says', () => {
    const t = tracked(true);
    M.snapshotSubscribers(t, 1, ['a']);
    M.published(t, 1000, ['a'], 'm1');
    const at = t.state.nextResendAt as number;
    expect([M.publicationDue(t.state, at - 1), M.publicationDue(t.state, at)]).toEqual([false, true]);
    // The workflow may ask with the latest wake time reached (protocol 6), earlier than the update's clock.
    M.operatorResend(t, 5000);
    expect(M.publicationDue(t.state, 0)).toBe(true);
    M.published(t, 6000, ['a'], 'm2');
    expect(M.publicationDue(t.state, 0)).toBe(false);
  });

  it('an ack before the message is published names that, not a missing subscription', () => {
    const t = tracked(false);
    expect(() => M.checkAckSender(t.state, 'a')).toThrow(/not published yet; group a cannot report/);
  });
});

describe('check-back answers', () => {
  it('COMMIT confirms, ROLLBACK cancels, anything else schedules the next ask with backoff', () => {
    const t = tracked(false);
    M.producerCheckBackAnswered(t, 1000, { answer: 'UNKNOWN' });
    expect(t.state).toMatchObject({ status: 'WAITING_CONFIRM', checkBackCount: 1, nextCheckBackAt: 1000 + 2000 });
    M.producerCheckBackAnswered(t, 3000, { answer: 'ERROR', error: 'refused' });
    expect(t.state.nextCheckBackAt).toBe(3000 + 4000);
    M.producerCheckBackAnswered(t, 7000, { answer: 'COMMIT' });
    expect(t.state).toMatchObject({ status: 'SENDING', nextCheckBackAt: undefined });
    const r = tracked(false);
    M.producerCheckBackAnswered(r, 1000, { answer: 'ROLLBACK' });
    expect(r.state.status).toBe('CANCELLED');
  });

  it('the next check-back is timed from when it was asked, when that is given, and the answer keeps its time', () => {
    const t = tracked(false);
    M.producerCheckBackAnswered(t, 1700, { answer: 'UNKNOWN' }, 1000);
    expect(t.state.nextCheckBackAt).toBe(1000 + 2000);
    expect(t.unsynced.at(-1)).toMatchObject({ type: 'CHECK_BACK', at: 1700 });
  });

  it('a consumer check-back that says CONSUMED counts as the ack; none at all records nothing', () => {
    const t = tracked(true);
    M.snapshotSubscribers(t, 1, ['a', 'b']);
    const version = t.state.version;
    M.consumerCheckBackAnswered(t, 2, 'b', { answer: 'UNAVAILABLE' });
    expect(t.state.version).toBe(version);
    M.consumerCheckBackAnswered(t, 3, 'a', { answer: 'CONSUMED' });
    expect(t.state.deliveries[0]?.status).toBe('CONSUMED');
  });
});
