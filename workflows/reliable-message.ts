/**
 * One durable workflow per reliable message: prepare -> confirm/cancel (with check-back) -> publish ->
 * await every subscriber's ack (with consumer check-back and resends) -> FINISHED, or DEAD for an
 * operator. Deterministic orchestration only; every side effect is an activity.
 */
import * as wf from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  ackSignal,
  type CancelRequest,
  type CheckBackAnswer,
  CONSUMER_CHECK_BACK_ACTIVITY,
  type ConfirmRequest,
  type ConsumerCheckBackAnswer,
  cancelUpdate,
  confirmUpdate,
  FailureType,
  type MessageState,
  PRODUCER_CHECK_BACK_ACTIVITY,
  RESUME_SCHEMA_VERSION,
  type ReliableMessageInput,
  resendUpdate,
  SearchAttribute,
  stateQuery,
} from './definitions.js';
import * as M from './message-state.js';

/** Projections and lookups: cheap, local, retried until they land. */
const local = wf.proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '30s' },
});

/**
 * Publishing is a local activity too (one RocketMQ send, milliseconds): it shares the workflow task
 * with the projection write, saving a billable action and a round trip through the task queue. It
 * retries with backoff until it succeeds: a confirmed message is never lost.
 */
const publishing = wf.proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '60s' },
});

/** History length at which a long-waiting message continues as new (well under Temporal's limits). */
const MAX_HISTORY_EVENTS = 4000;

export async function reliableMessageWorkflow(input: ReliableMessageInput): Promise<MessageState> {
  const resumeSchema = input.resumeSchemaVersion ?? 1;
  if (input.resume && resumeSchema > RESUME_SCHEMA_VERSION) {
    // A plain Error fails the workflow task (retried), not the workflow: a newer worker picks it up.
    throw new Error(`resume state has schema ${resumeSchema}; this worker reads up to ${RESUME_SCHEMA_VERSION}`);
  }
  const now = () => Date.now();
  // Update handlers are registered before the first await: an update arriving in the first workflow
  // task (a confirm right after prepare) must find them. They wait until the state exists.
  let tracked: M.Tracked | undefined;
  const started = () => tracked !== undefined;
  const onUpdate =
    <A extends unknown[]>(apply: (t: M.Tracked, ...args: A) => void) =>
    async (...args: A): Promise<MessageState> => {
      await wf.condition(started);
      const t = tracked as M.Tracked;
      guard(() => apply(t, ...args));
      return t.state;
    };
  /** Rejects an invalid transition before it enters history (once the state exists). */
  const validate =
    <A extends unknown[]>(apply: (t: M.Tracked, ...args: A) => void) =>
    (...args: A): void => {
      if (tracked) guard(() => apply(clone(tracked as M.Tracked), ...args));
    };
  const confirmBy = (t: M.Tracked, req: ConfirmRequest) => M.confirm(t, now(), req.by ?? 'producer');
  const cancelBy = (t: M.Tracked, req: CancelRequest) => M.cancel(t, now(), req.by ?? 'producer', req.reason);
  const resend = (t: M.Tracked) => M.operatorResend(t, now());
  wf.setHandler(confirmUpdate, onUpdate(confirmBy), { validator: validate(confirmBy) });
  wf.setHandler(cancelUpdate, onUpdate(cancelBy), { validator: validate(cancelBy) });
  wf.setHandler(resendUpdate, onUpdate(resend), { validator: validate(resend) });

  const timings = input.resume?.timings ?? (await local.resolveTimings(input.timings ?? {}));
  const t: M.Tracked = {
    state: input.resume ?? M.initialState(input.message, timings, now(), input.confirmed),
    unsynced: [],
  };
  tracked = t;
  const s = () => t.state;
  let syncedVersion = input.resume ? t.state.version : -1;
  /** Each delivery as last written, so a sync writes only the deliveries that changed. */
  const syncedDeliveries = new Map(t.state.deliveries.map((d) => [d.group, JSON.stringify(d)]));
  // The client sets the search attributes at start; upsert only when the status moves on.
  let shownStatus = t.state.status;
  if (!input.resume)
    M.record(t, now(), 'PREPARED', { confirmed: input.confirmed, producerGroup: input.message.producerGroup });

  // Signals (acks) are buffered by Temporal until a handler exists, so these may come after the await.
  wf.setHandler(stateQuery, () => t.state);
  wf.setHandler(ackSignal, (ack) => M.applyAck(t, now(), ack));

  /** Writes the projection (and search attributes) if anything changed since the last write. */
  async function sync(): Promise<void> {
    if (t.state.version === syncedVersion) return;
    const events = t.unsynced.splice(0);
    const version = t.state.version;
    const changed = t.state.deliveries.filter((d) => syncedDeliveries.get(d.group) !== JSON.stringify(d));
    await local.syncProjection({
      state: t.state,
      deliveries: changed,
      events,
      message: syncedVersion === -1 ? input.message : undefined,
    });
    syncedVersion = version;
    for (const d of changed) syncedDeliveries.set(d.group, JSON.stringify(d));
    if (shownStatus !== t.state.status) {
      shownStatus = t.state.status;
      wf.upsertSearchAttributes([{ key: SearchAttribute.status, value: shownStatus }]);
    }
    wf.setCurrentDetails(M.describe(t.state));
  }

  /**
   * Waits until `done()` or the time `wakeAt`, writing projections whenever a signal or update
   * changes the state meanwhile. One timer per wait, however many acks arrive. True when done.
   */
  async function waitUntil(done: () => boolean, wakeAt?: number): Promise<boolean> {
    const scope = new wf.CancellationScope();
    let timedOut = false;
    if (wakeAt !== undefined) {
      scope
        .run(() => wf.sleep(Math.max(wakeAt - now(), 1)))
        .then(
          () => {
            timedOut = true;
          },
          () => undefined,
        );
    }
    try {
      for (;;) {
        if (done()) return true; // the caller moves on and syncs the next state itself
        await sync();
        if (timedOut) return false;
        await continueAsNewIfHistoryIsLong();
        await wf.condition(() => done() || timedOut || t.state.version !== syncedVersion);
      }
    } finally {
      if (!timedOut) scope.cancel();
    }
  }

  async function continueAsNewIfHistoryIsLong(): Promise<void> {
    const info = wf.workflowInfo();
    if (!info.continueAsNewSuggested && info.historyLength < (input.maxHistoryEvents ?? MAX_HISTORY_EVENTS)) return;
    await wf.condition(wf.allHandlersFinished);
    await sync();
    await wf.continueAsNew<typeof reliableMessageWorkflow>({
      ...input,
      message: { ...input.message, body: '' }, // the body lives in the projection by now
      resume: t.state,
      resumeSchemaVersion: RESUME_SCHEMA_VERSION,
    });
  }

  // ---- 1. wait for confirm or cancel, checking back with the producer
  while (s().status === 'WAITING_CONFIRM') {
    const deadline = s().createdAt + s().timings.confirmDeadlineMs;
    const wakeAt = Math.min(s().nextCheckBackAt ?? deadline, deadline);
    if (await waitUntil(() => s().status !== 'WAITING_CONFIRM', wakeAt)) break;
    if (now() >= deadline) {
      M.markDead(t, now(), 'UNCONFIRMED');
      break;
    }
    await checkBackProducer();
  }
  if (s().status === 'DEAD') {
    // DEAD(UNCONFIRMED) waits for an operator's confirm or cancel.
    await waitUntil(() => s().status !== 'DEAD');
  }

  // ---- 2. deliver to every subscriber
  if (s().status !== 'CANCELLED') {
    if (s().subscribedAt === undefined) {
      M.snapshotSubscribers(t, now(), await local.snapshotSubscribers({ topic: s().topic, tag: s().tag }));
    }
    await deliver();
  }
  await sync();
  await wf.condition(wf.allHandlersFinished);
  return t.state;

  async function deliver(): Promise<void> {
    for (;;) {
      if (M.allConsumed(s())) {
        M.finish(t, now());
        return;
      }
      if (s().status === 'DEAD') {
        // Late acks may still finish it; an operator resend brings it back to SENDING.
        await waitUntil(() => s().status !== 'DEAD' || M.allConsumed(s()));
        continue;
      }
      const due = now() >= (s().nextResendAt ?? 0);
      if (!due) {
        await waitUntil(() => M.allConsumed(s()) || s().status !== 'SENDING', s().nextResendAt);
        continue;
      }
      if (s().sendRound > 0) await checkBackConsumers(M.pendingGroups(s()));
      const pending = M.pendingGroups(s());
      if (pending.length === 0) continue;
      if (s().sendRound >= s().timings.maxSends) {
        M.markDead(t, now(), 'UNCONSUMED');
        continue;
      }
      const delayMs = s().sendCount === 0 ? input.message.delayMs : undefined;
      const round = s().sendCount + 1;
      // The message travels in the local activity's input (never in history); after continue-as-new
      // the body is gone from the input and the activity reads it from the projection.
      const message = input.resume ? undefined : input.message;
      const { messageId } = await publishing.publishMessage({ key: s().key, groups: pending, round, delayMs, message });
      M.published(t, now(), pending, messageId, delayMs);
    }
  }

  async function checkBackProducer(): Promise<void> {
    const answer = await askCheckBack<CheckBackAnswer>('producer', s().producerGroup, [
      'COMMIT',
      'ROLLBACK',
      'UNKNOWN',
    ]);
    s().checkBackCount += 1;
    s().nextCheckBackAt = now() + M.checkBackInterval(s().timings, s().checkBackCount);
    M.record(t, now(), 'CHECK_BACK', answer);
    if (s().status !== 'WAITING_CONFIRM') return; // confirmed or cancelled while we asked
    if (answer.answer === 'COMMIT') M.confirm(t, now(), 'check-back');
    else if (answer.answer === 'ROLLBACK') M.cancel(t, now(), 'check-back');
  }

  async function checkBackConsumers(groups: string[]): Promise<void> {
    await Promise.all(
      groups.map(async (group) => {
        const answer = await askCheckBack<ConsumerCheckBackAnswer>('consumer', group, [
          'CONSUMED',
          'NOT_CONSUMED',
          'UNKNOWN',
        ]);
        if (answer.answer === 'UNAVAILABLE') return; // no consumer check-back: just resend
        M.record(t, now(), 'CONSUMER_CHECK_BACK', answer, group);
        if (answer.answer === 'CONSUMED') M.applyAck(t, now(), { group, status: 'CONSUMED' });
      }),
    );
  }

  /** Asks a producer or consumer group's check-back; errors and malformed answers never count as yes. */
  async function askCheckBack<A extends string>(
    kind: 'producer' | 'consumer',
    group: string,
    valid: A[],
  ): Promise<{ answer: A | 'UNAVAILABLE' | 'ERROR' | 'MALFORMED'; error?: string }> {
    const route = await local.findCheckBack({ kind, group });
    if (!route) return { answer: 'UNAVAILABLE' };
    const timeout = s().timings.checkBackTimeoutMs;
    try {
      let raw: unknown;
      if (route.url) {
        raw = await wf
          .proxyActivities<Activities>({ startToCloseTimeout: timeout, retry: { maximumAttempts: 1 } })
          .httpCheckBack({ url: route.url, key: s().key, kind, group });
      } else {
        const activity = kind === 'producer' ? PRODUCER_CHECK_BACK_ACTIVITY : CONSUMER_CHECK_BACK_ACTIVITY;
        raw = await wf.scheduleActivity(activity, [s().key], {
          taskQueue: route.taskQueue,
          scheduleToCloseTimeout: timeout,
          retry: { maximumAttempts: 1 },
        });
      }
      return valid.includes(raw as A)
        ? { answer: raw as A }
        : { answer: 'MALFORMED', error: String(raw).slice(0, 200) };
    } catch (err) {
      return { answer: 'ERROR', error: wf.rootCause(err) ?? String(err) };
    }
  }
}

/** Runs a transition on a copy, turning a refusal into an update rejection the caller sees. */
function guard(attempt: () => void): void {
  try {
    attempt();
  } catch (err) {
    if (err instanceof M.InvalidTransition) {
      throw wf.ApplicationFailure.create({
        type: FailureType.invalidTransition,
        message: err.message,
        nonRetryable: true,
      });
    }
    throw err;
  }
}

function clone(t: M.Tracked): M.Tracked {
  return { state: JSON.parse(JSON.stringify(t.state)) as MessageState, unsynced: [] };
}
