/**
 * One durable workflow per reliable message: prepare -> confirm/cancel (with check-back) -> publish ->
 * await every subscriber's ack (with consumer check-back and resends) -> FINISHED, or DEAD for an
 * operator. Deterministic orchestration only; every side effect is an activity.
 */
import * as wf from '@temporalio/workflow';
import type { CheckBackLookup } from '../activities/check-back.js';
import type { Activities } from '../activities/index.js';
import {
  ackSignal,
  ackUpdate,
  CATCHES_UP_AFTER_A_LATE_WAKE,
  type CancelRequest,
  type CheckBackContext,
  CONSUMER_CHECK_BACK_ACTIVITY,
  type ConfirmRequest,
  cancelUpdate,
  confirmUpdate,
  DECIDES_BY_WAKE_TIMES,
  ENDS_WITH_ITS_TIMER_PENDING,
  FailureType,
  FINAL_WRITE_SINK,
  FINISHES_SHOWING_SENDING,
  type FinalWriteSinks,
  HEEDS_LATE_ACKS,
  type MessageState,
  OPENS_IN_ONE_LOCAL_ACTIVITY,
  PRODUCER_CHECK_BACK_ACTIVITY,
  PUBLISH_TIMEOUT_MS,
  PUBLISHES_IN_FIRST_LOCAL_ACTIVITY,
  RESUME_SCHEMA_VERSION,
  type ReliableMessageInput,
  resendUpdate,
  SearchAttribute,
  stateQuery,
  stillOpening,
  visibleStatus,
  WRITES_FINAL_STATE_WITH_TASK,
  WRITES_FIRST_ROW_AFTER_PUBLICATION,
} from './definitions.js';
import * as M from './message-state.js';
import { ProjectionSync } from './projection-sync.js';

/**
 * Projections and lookups. Every local activity is bounded well inside one workflow task (whose
 * heartbeat comes after 8 s): a local activity still running across a task boundary lets an update land
 * between its start and its result, and such a history does not replay. A dependency that is down is
 * retried by the workflow itself, on timers (`retrying`).
 */
const local = wf.proxyLocalActivities<Activities>({
  scheduleToCloseTimeout: '2s',
  startToCloseTimeout: '1500ms',
  // The attempt cap is what bounds it: measured, the SDK kept retrying past scheduleToCloseTimeout (attempt
  // 676 after 6 minutes of MySQL down), heartbeating the task every 8 s (3 events each) with no timer.
  retry: { initialInterval: '50ms', backoffCoefficient: 2, maximumInterval: '500ms', maximumAttempts: 4 },
});

/**
 * One RocketMQ send (milliseconds), in the same workflow task as the projection write; bounded by
 * PUBLISH_TIMEOUT_MS (once the worker knows the broker is down, it fails at once).
 */
const publishing = wf.proxyLocalActivities<Activities>({
  scheduleToCloseTimeout: PUBLISH_TIMEOUT_MS,
  retry: { maximumAttempts: 1 },
});

/**
 * From protocol 3, the local activities that publish a message for the first time (a send's first task,
 * a confirm's): reads, writes and a RocketMQ send, each bounded by its dependency's call timeout, so
 * longer than `local`; still well inside the task.
 */
const firstTask = wf.proxyLocalActivities<Activities>({
  scheduleToCloseTimeout: '7s',
  startToCloseTimeout: '6s',
  retry: { initialInterval: '50ms', backoffCoefficient: 2, maximumInterval: '500ms', maximumAttempts: 2 },
});

/** Waits between attempts at a dependency that is down: short at first, capped so recovery is seen soon. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

/** patched() ids: each change of the command sequence after histories were recorded (see README). */
const OPERATOR_RESEND_PUBLISHES_AT_ONCE = 'operator-resend-publishes-at-once';

/** History length at which a long-waiting message continues as new (well under Temporal's limits). */
const MAX_HISTORY_EVENTS = 4000;

const PRODUCER_ANSWERS = ['COMMIT', 'ROLLBACK', 'UNKNOWN'];
const CONSUMER_ANSWERS = ['CONSUMED', 'NOT_CONSUMED', 'UNKNOWN'];

export async function reliableMessageWorkflow(input: ReliableMessageInput): Promise<MessageState> {
  const resumeSchema = input.resume?.schemaVersion ?? RESUME_SCHEMA_VERSION;
  if (resumeSchema > RESUME_SCHEMA_VERSION) {
    // A plain Error fails the workflow task (retried), not the workflow: a newer worker picks it up.
    throw new Error(`resume state has schema ${resumeSchema}; this worker reads up to ${RESUME_SCHEMA_VERSION}`);
  }
  const now = () => Date.now();
  /** The command sequence this run follows (STARTER_PROTOCOL when it was started); 1 before the field. */
  const protocol = input.protocol ?? 1;
  /**
   * The clock decisions read (DECIDES_BY_WAKE_TIMES): the latest wake time a wait's timer fired for, which
   * a replay reproduces; runs started before read the task's clock.
   */
  const byWakeTimes = protocol >= DECIDES_BY_WAKE_TIMES;
  let reached = 0;
  const decisionTime = () => (byWakeTimes ? reached : now());
  const catchesUp = protocol >= CATCHES_UP_AFTER_A_LATE_WAKE;
  const heedsLateAcks = protocol >= HEEDS_LATE_ACKS;
  const resume = input.resume;
  let tracked: M.Tracked | undefined = resume && { state: resume.state, unsynced: resume.unsynced };

  // A query may come with the first task, before the state exists (a status asked just after the start),
  // or while that task retries a dependency that is down: it is told so, by a failure the client knows.
  wf.setHandler(stateQuery, () => {
    if (tracked) return tracked.state;
    throw wf.ApplicationFailure.create({
      type: FailureType.opening,
      message: stillOpening(input.message.key),
      nonRetryable: true,
    });
  });

  // Handlers are registered before the first await (an update may come in the first workflow task) and
  // apply their change synchronously once the state exists, so nothing can run between a change and its
  // update's completion.
  const whenStarted = async (): Promise<M.Tracked> => {
    await wf.condition(() => tracked !== undefined);
    return tracked as M.Tracked;
  };
  const onUpdate =
    <A extends unknown[]>(apply: (t: M.Tracked, ...args: A) => void) =>
    (...args: A): MessageState | Promise<MessageState> => {
      const run = (t: M.Tracked) => {
        guard(() => apply(t, ...args));
        return t.state;
      };
      return tracked ? run(tracked) : whenStarted().then(run);
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
  const ack = (t: M.Tracked, a: Parameters<typeof M.applyAck>[2]) => {
    M.checkAckSender(t.state, a.group);
    M.applyAck(t, now(), a);
  };
  wf.setHandler(confirmUpdate, onUpdate(confirmBy), { validator: validate(confirmBy) });
  wf.setHandler(cancelUpdate, onUpdate(cancelBy), { validator: validate(cancelBy) });
  wf.setHandler(resendUpdate, onUpdate(resend), { validator: validate(resend) });
  wf.setHandler(ackUpdate, onUpdate(ack), {
    validator: (a) => guard(() => (tracked ? M.checkAckSender(tracked.state, a.group) : notPublished(a.group))),
  });

  const projection = new ProjectionSync(input.message, resume?.rowWritten ?? false);
  const opening = tracked ? { t: tracked } : await firstState();
  const t = opening.t;
  tracked = t;
  const s = () => t.state;
  // The client sets the search attributes at start (a continued run keeps them); upsert only when the
  // status moves on, the first task's publication included. From FINISHES_SHOWING_SENDING the run reads
  // what it was given: a run may continue as new before it showed its last change (a confirm whose
  // publication failed), and its successor must still show it, since nothing upserts at the end.
  // A run started without the attribute (by hand, or by the histories' recorder) is taken as a client's.
  const given =
    protocol >= FINISHES_SHOWING_SENDING
      ? wf.workflowInfo().typedSearchAttributes.get(SearchAttribute.status)
      : undefined;
  let shownStatus: string = given ?? (resume ? resume.state.status : M.startStatus(input.confirmed));

  // Signals (acks from the SDK) are buffered by Temporal until a handler exists.
  wf.setHandler(ackSignal, (a) => M.applyAck(t, now(), a));

  // ---- 1. the projection exists from the first workflow task (a key of an earlier message is refused)
  const keyReused = opening.keyReused ?? (await firstSync());
  if (keyReused !== undefined) {
    M.markDead(t, now(), 'KEY_REUSED', keyReused);
    wf.upsertSearchAttributes([{ key: SearchAttribute.status, value: 'DEAD' }]);
    return t.state;
  }

  // ---- 2. wait for confirm or cancel, checking back with the producer
  while (s().status === 'WAITING_CONFIRM') {
    const deadline = s().createdAt + s().timings.confirmDeadlineMs;
    const wakeAt = Math.min(s().nextCheckBackAt ?? deadline, deadline);
    if (await waitUntil(() => s().status !== 'WAITING_CONFIRM', wakeAt)) break;
    if (decisionTime() >= deadline) {
      M.markDead(t, now(), 'UNCONFIRMED');
      break;
    }
    const { result, lookedUpAt } = await askCheckBack('producer', s().producerGroup, PRODUCER_ANSWERS);
    if (catchesUp && lookedUpAt !== undefined) reached = Math.max(reached, lookedUpAt);
    M.producerCheckBackAnswered(t, now(), result, byWakeTimes ? reached : undefined);
  }
  // DEAD(UNCONFIRMED) waits for an operator's confirm or cancel; DEAD(REJECTED) by the first task, for a resend.
  // A DEAD message that was published (a continued run's) waits in deliver(), where late acks finish it too
  // (HEEDS_LATE_ACKS); runs started before waited here for an operator alone.
  const waitsInDeliver = heedsLateAcks && s().sendCount > 0;
  if (s().status === 'DEAD' && !waitsInDeliver) await waitUntil(() => s().status !== 'DEAD');

  // ---- 3. publish, then resend to the subscribers that have not consumed until all have
  if (opening.firstPublicationFailed) await afterFailedPublication();
  if (s().status !== 'CANCELLED') await deliver();
  if (protocol >= WRITES_FINAL_STATE_WITH_TASK) writeWithEndingTask();
  else await sync();
  return t.state;

  /**
   * The message's first state. One local activity resolves its timings, takes a send's subscribers,
   * writes the row and (from protocol 3) makes a send's first publication and writes it; runs started
   * before (see STARTER_PROTOCOL) took a local activity each.
   */
  async function firstState(): Promise<{ t: M.Tracked; keyReused?: string; firstPublicationFailed?: boolean }> {
    // Created when the execution started, not when this task runs: a retried first task (the first
    // timed out after writing the projection row) must recognise that row as its own.
    const createdAt = wf.workflowInfo().startTime.getTime();
    const base = { message: input.message, createdAt, confirmed: input.confirmed, specHash: input.specHash };
    if (protocol < OPENS_IN_ONE_LOCAL_ACTIVITY) {
      const timings = await retrying(() => local.resolveTimings(input.timings ?? {}));
      return { t: M.opened({ ...base, timings, at: now() }) };
    }
    const at = byWakeTimes ? createdAt : now();
    const publish = protocol >= PUBLISHES_IN_FIRST_LOCAL_ACTIVITY && input.confirmed;
    const writeOnceAfterPublication = publish && protocol >= WRITES_FIRST_ROW_AFTER_PUBLICATION;
    const r = await retrying(() =>
      (publish ? firstTask : local).openMessage({
        ...base,
        at,
        overrides: input.timings ?? {},
        publish,
        writeOnceAfterPublication,
      }),
    );
    const opened = M.opened({ ...base, at, timings: r.timings, subscribers: r.subscribers });
    if (r.keyReused === undefined && !writeOnceAfterPublication) projection.written(opened, projection.next(opened));
    if (r.publication) {
      M.firstPublished(opened, at, input.message.delayMs, r.publication);
      if (r.publication.written) projection.written(opened, projection.next(opened));
    }
    return { t: opened, keyReused: r.keyReused, firstPublicationFailed: r.publication && 'failed' in r.publication };
  }

  /** The first projection write, unless the first task made it; a key of an earlier message is refused. */
  async function firstSync(): Promise<string | undefined> {
    try {
      await sync();
      return undefined;
    } catch (err) {
      const reused = refusalOf(err, FailureType.keyReused);
      if (reused === undefined) throw err;
      return reused;
    }
  }

  async function deliver(): Promise<void> {
    if (s().subscribedAt === undefined) {
      if (protocol >= PUBLISHES_IN_FIRST_LOCAL_ACTIVITY) {
        await publishConfirmed();
      } else {
        const groups = await retrying(() => local.snapshotSubscribers({ topic: s().topic, tag: s().tag }));
        M.snapshotSubscribers(t, now(), groups);
      }
    }
    for (;;) {
      if (M.allConsumed(s())) {
        M.finish(t, now());
        return;
      }
      const canSend = () => s().status === 'SENDING' && M.publicationDue(s(), decisionTime());
      if (!canSend()) {
        // Acks, an operator resend or the resend time move it on; a DEAD message waits for late acks or an operator.
        await waitUntil(() => M.allConsumed(s()) || canSend(), s().status === 'SENDING' ? s().nextResendAt : undefined);
        continue;
      }
      // The workflow's own resends ask the groups' check-backs first; an operator's resend (a fresh send budget:
      // sendRound 0) publishes at once. Runs recorded before this rule asked first there too.
      const operatorResend = s().sendCount > 0 && s().sendRound === 0 && wf.patched(OPERATOR_RESEND_PUBLISHES_AT_ONCE);
      if (s().sendCount > 0 && !operatorResend) {
        await checkBackConsumers(M.pendingGroups(s()));
        if (M.pendingGroups(s()).length === 0) continue;
      }
      if (s().sendRound >= s().timings.maxSends) {
        M.markDead(t, now(), 'UNCONSUMED');
        continue;
      }
      await publish();
    }
  }

  /**
   * A prepared message's confirm carried out in one local activity (protocol 3): its subscribers, its
   * first publication and their write, as the first task does for a send.
   */
  async function publishConfirmed(): Promise<void> {
    const at = now();
    const r = await retrying(() => firstTask.publishConfirmed({ tracked: t, at, message: input.message }));
    M.snapshotSubscribers(t, at, r.subscribers);
    M.firstPublished(t, at, input.message.delayMs, r.publication);
    if (r.writtenVersion === s().version) projection.written(t, projection.next(t));
    if ('failed' in r.publication) await afterFailedPublication();
  }

  /** As after any failed publication: the failure written, then a wait before the next try. */
  async function afterFailedPublication(): Promise<void> {
    await sync();
    await settled(wf.sleep(RETRY_FIRST_MS));
  }

  /**
   * One publication to the groups that have not consumed; DEAD(REJECTED) if RocketMQ refuses it for good.
   * From HEEDS_LATE_ACKS each try is for the groups pending then, and a resend none is pending for any more
   * is dropped; runs started before send every try to the groups pending at the first.
   */
  async function publish(): Promise<void> {
    let groups = M.pendingGroups(s());
    const delayMs = s().sendCount === 0 ? input.message.delayMs : undefined;
    const round = s().sendCount + 1;
    try {
      // The message travels in the local activity's input, never in a history event of its own.
      const sent = await retrying(
        () => {
          if (heedsLateAcks) {
            groups = M.pendingGroups(s());
            if (round > 1 && groups.length === 0) return Promise.resolve(undefined);
          }
          return publishing.publishMessage({ key: s().key, groups, round, delayMs, message: input.message });
        },
        async (error) => {
          M.publishFailed(t, now(), error);
          await sync();
        },
      );
      if (sent) M.published(t, now(), groups, sent.messageId, delayMs);
    } catch (err) {
      const rejection = refusalOf(err, FailureType.publishRejected);
      if (rejection === undefined) throw err;
      M.markDead(t, now(), 'REJECTED', rejection);
    }
  }

  async function checkBackConsumers(groups: string[]): Promise<void> {
    const asked = await Promise.all(groups.map((group) => askCheckBack('consumer', group, CONSUMER_ANSWERS)));
    for (const [i, { result }] of asked.entries()) M.consumerCheckBackAnswered(t, now(), groups[i] as string, result);
  }

  /**
   * Asks a producer or consumer group's check-back; errors and malformed answers never count as yes. Also
   * says when its route was looked up, once the lookup answered.
   */
  async function askCheckBack(
    kind: 'producer' | 'consumer',
    group: string,
    valid: string[],
  ): Promise<{ result: M.CheckBackResult; lookedUpAt?: number }> {
    const timeout = s().timings.checkBackTimeoutMs;
    let lookedUpAt: number | undefined;
    try {
      // Null in runs recorded before a lookup said when it was made.
      const route: CheckBackLookup | null = await settled(local.findCheckBack({ kind, group }));
      lookedUpAt = route?.at;
      if (!route?.url && !route?.taskQueue) return { result: { answer: 'UNAVAILABLE' }, lookedUpAt };
      // The message's age goes along: a check-back that purges its records must not take a purged key
      // for one never committed (a wait timer may fire days late, after an outage of the service).
      const told: CheckBackContext = { createdAt: s().createdAt };
      const raw = await settled(
        route.url
          ? wf
              .proxyActivities<Activities>({ startToCloseTimeout: timeout, retry: { maximumAttempts: 1 } })
              .httpCheckBack({ url: route.url, key: s().key, kind, group, ...told })
          : wf.scheduleActivity<unknown>(
              kind === 'producer' ? PRODUCER_CHECK_BACK_ACTIVITY : CONSUMER_CHECK_BACK_ACTIVITY,
              [s().key, told],
              { taskQueue: route.taskQueue, scheduleToCloseTimeout: timeout, retry: { maximumAttempts: 1 } },
            ),
      );
      const result =
        typeof raw === 'string' && valid.includes(raw)
          ? { answer: raw }
          : { answer: 'MALFORMED', error: String(raw).slice(0, 200) };
      return { result, lookedUpAt };
    } catch (err) {
      return { result: { answer: 'ERROR', error: failureMessage(err) }, lookedUpAt };
    }
  }

  /**
   * Writes the projection (and the status search attribute) until it holds the current state. The status
   * is shown even when its write was made already (by the first task's local activity).
   */
  async function sync(): Promise<void> {
    for (;;) {
      showStatus();
      if (!projection.needed(t)) break;
      const write = projection.next(t);
      await retrying(() => local.syncProjection(write.input));
      projection.written(t, write);
    }
    wf.setCurrentDetails(M.describe(s()));
  }

  function showStatus(): void {
    if (shownStatus === s().status) return;
    shownStatus = s().status;
    wf.upsertSearchAttributes([{ key: SearchAttribute.status, value: shownStatus }]);
  }

  /**
   * The final state's write, handed to the worker, which makes it before this task (the last) completes;
   * a write that fails fails the task, so this run cannot complete without it (WRITES_FINAL_STATE_WITH_TASK).
   * The status is upserted unless the completed run's search attribute reads as it already
   * (FINISHES_SHOWING_SENDING).
   */
  function writeWithEndingTask(): void {
    const shownOnceCompleted =
      protocol >= FINISHES_SHOWING_SENDING && visibleStatus(shownStatus, 'COMPLETED') === s().status;
    if (!shownOnceCompleted) showStatus();
    if (projection.needed(t)) {
      const write = projection.next(t);
      wf.proxySinks<FinalWriteSinks>()[FINAL_WRITE_SINK].write(write.input);
      projection.written(t, write);
    }
    wf.setCurrentDetails(M.describe(s()));
  }

  /**
   * Calls a local activity until it succeeds, waiting on a workflow timer between tries (growing, capped),
   * so a dependency that is down costs a few events a minute and the workflow still continues as new.
   * A rejection (non-retryable failure) is thrown to the caller.
   */
  async function retrying<T>(call: () => Promise<T>, onFailure?: (error: string) => Promise<void>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await settled(call());
      } catch (err) {
        if (isRefusal(err)) throw err;
        await onFailure?.(failureMessage(err));
        // Decided where the call's failure came (DECIDES_BY_WAKE_TIMES), not as the retry starts.
        if (byWakeTimes && tracked) await continueAsNewIfHistoryIsLong();
        await settled(wf.sleep(Math.min(RETRY_FIRST_MS * 2 ** attempt, RETRY_MAX_MS)));
        if (!byWakeTimes && tracked) await continueAsNewIfHistoryIsLong();
      }
    }
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
            reached = Math.max(reached, wakeAt);
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
        await wf.condition(() => (done() || timedOut || projection.needed(t)) && wf.allHandlersFinished());
      }
    } finally {
      if (!timedOut && !endsNow()) scope.cancel();
    }
  }

  /** The run completes in this activation (ENDS_WITH_ITS_TIMER_PENDING): every group consumed, or cancelled. */
  function endsNow(): boolean {
    return protocol >= ENDS_WITH_ITS_TIMER_PENDING && (M.allConsumed(s()) || s().status === 'CANCELLED');
  }

  /**
   * Awaits an activity or timer, then lets every update handler finish before the workflow goes on. An
   * update and a result that land in one activation would otherwise order their commands by promise
   * depth, which differs between a first run and its replay (interceptors, validators): with this the
   * update's completion always comes first.
   */
  async function settled<T>(step: Promise<T>): Promise<T> {
    try {
      return await step;
    } finally {
      // Before the state exists an update handler waits for it: nothing to let finish yet.
      if (tracked) await wf.condition(wf.allHandlersFinished);
    }
  }

  /** Hands the state (with events the projection has not taken yet, and the body) to a fresh run. */
  async function continueAsNewIfHistoryIsLong(): Promise<void> {
    const info = wf.workflowInfo();
    if (!info.continueAsNewSuggested && info.historyLength < (input.maxHistoryEvents ?? MAX_HISTORY_EVENTS)) return;
    await wf.condition(wf.allHandlersFinished);
    await wf.continueAsNew<typeof reliableMessageWorkflow>({
      ...input,
      resume: {
        schemaVersion: RESUME_SCHEMA_VERSION,
        state: t.state,
        unsynced: t.unsynced,
        rowWritten: projection.rowWritten,
      },
    });
  }
}

/** An activity's refusal that no retry cures: RocketMQ rejecting the message, or a reused key. */
const REFUSALS: string[] = [FailureType.publishRejected, FailureType.keyReused];

function isRefusal(err: unknown): boolean {
  return REFUSALS.some((type) => refusalOf(err, type) !== undefined);
}

/** The refusal's reason when `err` is an activity refusal of `type`. */
function refusalOf(err: unknown, type: string): string | undefined {
  const cause = err instanceof wf.ActivityFailure ? err.cause : err;
  if (cause instanceof wf.ApplicationFailure && cause.type === type) return cause.message;
  return undefined;
}

function failureMessage(err: unknown): string {
  return (wf.rootCause(err) ?? String(err)).slice(0, 500);
}

function notPublished(group: string): never {
  throw new M.NotASubscriber(`the message is not published yet; group ${group} cannot report on it`);
}

/** Runs a transition on a copy, turning a refusal into an update rejection the caller sees. */
function guard(attempt: () => void): void {
  try {
    attempt();
  } catch (err) {
    if (err instanceof M.InvalidTransition || err instanceof M.NotASubscriber) {
      throw wf.ApplicationFailure.create({
        type: err instanceof M.NotASubscriber ? FailureType.notASubscriber : FailureType.invalidTransition,
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
