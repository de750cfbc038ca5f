/**
 * Pure transitions of one message's state. No Temporal APIs here: the workflow calls these, and unit
 * tests exercise them directly. Every change bumps `version` and appends an event.
 */
import type {
  Ack,
  DeadReason,
  DeliveryState,
  MessageEvent,
  MessageEventType,
  MessageSpec,
  MessageState,
  MessageStatus,
  Timings,
} from './definitions.js';

export class InvalidTransition extends Error {
  override readonly name = 'InvalidTransition';
}

/** A message state plus the events not yet written to the projection. */
export interface Tracked {
  state: MessageState;
  unsynced: MessageEvent[];
}

/** A message's status when its workflow starts (the starter shows it as a search attribute too). */
export function startStatus(confirmed: boolean): MessageStatus {
  return confirmed ? 'SENDING' : 'WAITING_CONFIRM';
}

export function initialState(
  message: MessageSpec,
  timings: Timings,
  now: number,
  confirmed: boolean,
  specHash?: string,
): MessageState {
  return {
    key: message.key,
    specHash,
    topic: message.topic,
    tag: message.tag,
    producerGroup: message.producerGroup,
    status: startStatus(confirmed),
    sendRound: 0,
    sendCount: 0,
    checkBackCount: 0,
    deliveries: [],
    timings,
    createdAt: now,
    confirmedAt: confirmed ? now : undefined,
    nextCheckBackAt: confirmed ? undefined : now + timings.checkBackAfterMs,
    eventSeq: 0,
    version: 0,
  };
}

/** What a message is opened from: the same in the workflow and in the local activity that writes it first. */
export interface Opening {
  message: MessageSpec;
  timings: Timings;
  /** The execution's start: a retried first task recognises its own row by it. */
  createdAt: number;
  confirmed: boolean;
  specHash?: string;
  /** When the first task ran (the PREPARED event's time). */
  at: number;
  /** A confirmed message's subscribers, taken with its first write. */
  subscribers?: string[];
}

/** A new message: PREPARED, and for a send already confirmed with its subscribers taken. */
export function opened(o: Opening): Tracked {
  const t: Tracked = { state: initialState(o.message, o.timings, o.createdAt, o.confirmed, o.specHash), unsynced: [] };
  record(t, o.at, 'PREPARED', { confirmed: o.confirmed, producerGroup: o.message.producerGroup });
  if (o.subscribers) snapshotSubscribers(t, o.at, o.subscribers);
  return t;
}

export function record(
  t: Tracked,
  now: number,
  type: MessageEventType,
  detail?: Record<string, unknown>,
  group?: string,
): void {
  t.state.eventSeq += 1;
  t.state.version += 1;
  t.unsynced.push({ seq: t.state.eventSeq, type, at: now, group, detail });
}

/** The upstream business is known to have happened. Idempotent; an error after cancel. */
export function confirm(t: Tracked, now: number, by: string): void {
  const s = t.state;
  if (s.status === 'CANCELLED') {
    throw new InvalidTransition(
      `message ${s.key} was cancelled (${s.cancelReason ?? 'no reason'}); it cannot be confirmed`,
    );
  }
  if (s.confirmedAt !== undefined) return;
  s.confirmedAt = now;
  s.deadReason = undefined;
  s.nextCheckBackAt = undefined;
  t.state.status = 'SENDING';
  record(t, now, 'CONFIRMED', { by });
}

/** The upstream business did not happen. Idempotent; an error once confirmed. */
export function cancel(t: Tracked, now: number, by: string, reason?: string): void {
  const s = t.state;
  if (s.status === 'CANCELLED') return;
  if (s.confirmedAt !== undefined) {
    throw new InvalidTransition(`message ${s.key} was already confirmed (status ${s.status}); it cannot be cancelled`);
  }
  s.cancelledAt = now;
  s.cancelReason = reason ?? (by === 'check-back' ? 'check-back answered ROLLBACK' : 'cancelled');
  s.deadReason = undefined;
  s.nextCheckBackAt = undefined;
  t.state.status = 'CANCELLED';
  record(t, now, 'CANCELLED', { by, reason: s.cancelReason });
}

/** Gives up on the message until an operator acts; `error` says why (REJECTED: RocketMQ's refusal). */
export function markDead(t: Tracked, now: number, reason: DeadReason, error?: string): void {
  const s = t.state;
  s.deadReason = reason;
  if (error !== undefined) s.lastError = error;
  s.deadAt = now;
  s.nextCheckBackAt = undefined;
  s.nextResendAt = undefined;
  const groups: string[] = [];
  for (const d of s.deliveries) {
    if (d.status !== 'CONSUMED') {
      d.status = 'DEAD';
      groups.push(d.group);
    }
  }
  t.state.status = 'DEAD';
  record(t, now, 'DEAD', { reason, groups, sendRound: s.sendRound, ...(error === undefined ? {} : { error }) });
}

/** Operator resend: a fresh send budget for a DEAD message, or an immediate resend of a SENDING one. */
export function operatorResend(t: Tracked, now: number): void {
  const s = t.state;
  const resendable =
    s.status === 'SENDING' || (s.status === 'DEAD' && (s.deadReason === 'UNCONSUMED' || s.deadReason === 'REJECTED'));
  if (!resendable) {
    const hint = s.status === 'DEAD' ? 'it was never confirmed: confirm or cancel it' : `it is ${s.status}`;
    throw new InvalidTransition(`message ${s.key} cannot be resent: ${hint}`);
  }
  for (const d of s.deliveries) if (d.status === 'DEAD') d.status = 'PENDING';
  s.sendRound = 0;
  s.deadReason = undefined;
  s.lastError = undefined;
  s.nextResendAt = now;
  t.state.status = 'SENDING';
  record(t, now, 'OPERATOR_RESEND');
}

export function snapshotSubscribers(t: Tracked, now: number, groups: string[]): void {
  t.state.subscribedAt = now;
  t.state.deliveries = groups.map((group) => ({ group, status: 'PENDING', sendCount: 0, receiveCount: 0 }));
  record(t, now, groups.length > 0 ? 'SUBSCRIBERS' : 'NO_SUBSCRIBERS', { groups });
}

/**
 * Whether a publication is due now: the first one always (a message nobody subscribes to is still
 * published, for plain RocketMQ consumers), later ones to groups that have not consumed, when the resend
 * time has come.
 */
export function publicationDue(s: MessageState, now: number): boolean {
  return s.sendCount === 0 || (pendingGroups(s).length > 0 && (operatorResent(s) || now >= (s.nextResendAt ?? 0)));
}

/** An operator's resend not carried out yet: it is due at once, whatever the time. */
function operatorResent(s: MessageState): boolean {
  return s.sendCount > 0 && s.sendRound === 0;
}

/** A publish attempt failed in a way a retry may cure: shown once per distinct error, not once per try. */
export function publishFailed(t: Tracked, now: number, error: string): void {
  if (t.state.lastError === error) return;
  t.state.lastError = error;
  record(t, now, 'PUBLISH_FAILED', { error });
}

/** Delay before the resend that follows send round `round` (1-based), growing by the backoff, capped. */
export function resendInterval(timings: Timings, round: number): number {
  const grown = timings.resendAfterMs * timings.resendBackoff ** Math.max(0, round - 1);
  return Math.min(grown, timings.maxResendIntervalMs);
}

/** Delay before check-back number `count + 1`. */
export function checkBackInterval(timings: Timings, count: number): number {
  const grown = timings.checkBackAfterMs * timings.checkBackBackoff ** count;
  return Math.min(Math.max(grown, 1), timings.maxCheckBackIntervalMs);
}

export function published(t: Tracked, now: number, groups: string[], messageId: string, delayMs = 0): void {
  const s = t.state;
  s.sendRound += 1;
  s.sendCount += 1;
  s.publishedAt ??= now;
  s.lastError = undefined;
  s.nextResendAt = now + delayMs + resendInterval(s.timings, s.sendRound);
  for (const d of s.deliveries) {
    if (groups.includes(d.group)) {
      d.sendCount += 1;
      d.lastSentAt = now;
    }
  }
  record(t, now, s.sendRound === 1 && s.sendCount === 1 ? 'PUBLISHED' : 'RESENT', {
    groups,
    messageId,
    round: s.sendRound,
  });
}

/** How the publication a confirmed message's first task makes (with its first write) went. */
export type FirstPublication = { messageId: string } | { failed: string } | { rejected: string };

/**
 * The first task's publication, to every group the message was opened with: published, or failed
 * (retried on the workflow's timers), or refused for good (DEAD(REJECTED)). The local activity that
 * publishes and the workflow both apply it, so what was written is what the workflow holds.
 */
export function firstPublished(t: Tracked, at: number, delayMs: number | undefined, outcome: FirstPublication): void {
  if ('messageId' in outcome) published(t, at, pendingGroups(t.state), outcome.messageId, delayMs);
  else if ('rejected' in outcome) markDead(t, at, 'REJECTED', outcome.rejected);
  else publishFailed(t, at, outcome.failed);
}

/** Groups that still have to consume (not yet CONSUMED, not given up). */
export function pendingGroups(s: MessageState): string[] {
  return s.deliveries.filter((d) => d.status === 'PENDING' || d.status === 'RECEIVED').map((d) => d.group);
}

/** Published, and every subscriber (if any) consumed it. */
export function allConsumed(s: MessageState): boolean {
  return s.sendCount > 0 && s.deliveries.every((d) => d.status === 'CONSUMED');
}

export class NotASubscriber extends Error {
  override readonly name = 'NotASubscriber';
}

/** Refuses a report from a group the message was not published to (the API's ack update validates with it). */
export function checkAckSender(s: MessageState, group: string): void {
  if (s.deliveries.some((d) => d.group === group)) return;
  const subscribers = s.deliveries.map((d) => d.group).join(', ') || 'none';
  throw new NotASubscriber(
    s.subscribedAt === undefined
      ? `message ${s.key} is not published yet; group ${group} cannot report on it`
      : `group ${group} is not a subscriber of message ${s.key} (subscribers: ${subscribers})`,
  );
}

/**
 * A consumer's report. Late acks (after DEAD) still count; a report from a non-subscriber (possible only
 * through the signal, which has no validator) changes nothing and records nothing.
 */
export function applyAck(t: Tracked, now: number, ack: Ack): void {
  const d: DeliveryState | undefined = t.state.deliveries.find((x) => x.group === ack.group);
  if (!d) return;
  if (ack.received && ack.status !== 'RECEIVED') applyAck(t, now, { group: ack.group, status: 'RECEIVED' });
  if (ack.status === 'RECEIVED') {
    d.receiveCount += 1;
    d.receivedAt = now;
    // A late copy of a DEAD message is counted, but the delivery stays DEAD until it is consumed or resent.
    if (d.status === 'PENDING') d.status = 'RECEIVED';
    record(t, now, 'RECEIVED', { receiveCount: d.receiveCount }, d.group);
  } else if (ack.status === 'CONSUMED') {
    if (d.status === 'CONSUMED') return;
    d.status = 'CONSUMED';
    d.consumedAt = now;
    d.lastError = undefined;
    record(t, now, 'CONSUMED', undefined, d.group);
  } else {
    d.lastError = ack.error ?? 'handler failed';
    record(t, now, 'CONSUME_FAILED', { error: d.lastError }, d.group);
  }
}

/** Every group consumed. A DEAD message finished by late acks no longer shows why or since when it was DEAD. */
export function finish(t: Tracked, now: number): void {
  t.state.finishedAt = now;
  t.state.nextResendAt = undefined;
  t.state.deadReason = undefined;
  t.state.deadAt = undefined;
  t.state.status = 'FINISHED';
  record(t, now, 'FINISHED', { deliveries: t.state.deliveries.length });
}

/** One line for Temporal UI's "current details". */
export function describe(s: MessageState): string {
  const consumed = s.deliveries.filter((d) => d.status === 'CONSUMED').length;
  const parts = [`**${s.status}**${s.deadReason ? ` (${s.deadReason})` : ''}`, `key \`${s.key}\``, `topic ${s.topic}`];
  if (s.deliveries.length > 0)
    parts.push(`${consumed}/${s.deliveries.length} groups consumed`, `send round ${s.sendRound}`);
  if (s.status === 'WAITING_CONFIRM') parts.push(`${s.checkBackCount} check-backs`);
  if (s.lastError) parts.push(`last error: ${s.lastError}`);
  return parts.join(' · ');
}

export interface CheckBackResult {
  answer: string;
  error?: string;
}

/**
 * The producer answered a check-back (or failed to): COMMIT confirms, ROLLBACK cancels, anything else waits;
 * the next check-back comes an interval after `askedAt` (by default, after the answer).
 */
export function producerCheckBackAnswered(t: Tracked, now: number, result: CheckBackResult, askedAt = now): void {
  const s = t.state;
  s.checkBackCount += 1;
  record(t, now, 'CHECK_BACK', { ...result });
  if (s.status !== 'WAITING_CONFIRM') return; // confirmed or cancelled while it was asked
  s.nextCheckBackAt = askedAt + checkBackInterval(s.timings, s.checkBackCount);
  if (result.answer === 'COMMIT') confirm(t, now, 'check-back');
  else if (result.answer === 'ROLLBACK') cancel(t, now, 'check-back');
}

/** A consumer group's check-back answered; CONSUMED counts as its ack. No check-back at all records nothing. */
export function consumerCheckBackAnswered(t: Tracked, now: number, group: string, result: CheckBackResult): void {
  if (result.answer === 'UNAVAILABLE') return;
  record(t, now, 'CONSUMER_CHECK_BACK', { ...result }, group);
  if (result.answer === 'CONSUMED') applyAck(t, now, { group, status: 'CONSUMED' });
}
