/**
 * The public contract of the reliable-message workflow: its name, ID scheme, input, state, and the
 * signals, updates and queries the SDKs, the API and the CLI use. Safe to import outside workflows.
 */
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate, type Sinks } from '@temporalio/workflow';
import type { ProjectionWrite } from '../src/db/projection-writer.js';

export const RELIABLE_MESSAGE_WORKFLOW = 'reliableMessageWorkflow';

/** One workflow per message key: starting twice with one key can never make a second message. */
export function workflowIdForKey(key: string): string {
  return `rmsg:${key}`;
}

/** Task queue where a producer group's SDK serves its check-back activity. */
export function producerCheckBackTaskQueue(producerGroup: string): string {
  return `rmsg-producer-${producerGroup}`;
}

/** Task queue where a consumer group's SDK serves its consumer check-back activity. */
export function consumerCheckBackTaskQueue(consumerGroup: string): string {
  return `rmsg-consumer-${consumerGroup}`;
}

/** Activity names served by the SDKs on the task queues above. */
export const PRODUCER_CHECK_BACK_ACTIVITY = 'checkBackProducer';
export const CONSUMER_CHECK_BACK_ACTIVITY = 'checkBackConsumer';

/** RocketMQ message properties the service sets; the consumer SDK reads them. */
export const MessageProperty = {
  key: 'RMSG_KEY',
  /** Comma-separated consumer groups this publication is for; other groups skip it. */
  groups: 'RMSG_GROUPS',
  /** 1 for the first publication, then one more for every resend. */
  round: 'RMSG_ROUND',
  producerGroup: 'RMSG_PRODUCER_GROUP',
} as const;

export const MESSAGE_STATUSES = ['WAITING_CONFIRM', 'SENDING', 'FINISHED', 'CANCELLED', 'DEAD'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
export type DeliveryStatus = 'PENDING' | 'RECEIVED' | 'CONSUMED' | 'DEAD';
/**
 * UNCONFIRMED: neither confirmed nor cancelled by the deadline. UNCONSUMED: a subscriber did not consume it
 * within its sends. REJECTED: RocketMQ refused to publish it for good (e.g. its topic is gone); fix the cause,
 * then resend. KEY_REUSED: its key belongs to an earlier message (past Temporal's retention, still in MySQL);
 * it is never published: send it again under a new key.
 */
export type DeadReason = 'UNCONFIRMED' | 'UNCONSUMED' | 'REJECTED' | 'KEY_REUSED';
export type CheckBackAnswer = 'COMMIT' | 'ROLLBACK' | 'UNKNOWN';
/**
 * What a check-back is told beside the key: when the message was created, so that a producer that purges
 * its records can tell a key it never committed from one whose record it has purged since.
 */
export interface CheckBackContext {
  createdAt: number;
}
export type ConsumerCheckBackAnswer = 'CONSUMED' | 'NOT_CONSUMED' | 'UNKNOWN';

/** Timings of one message (all milliseconds). Defaults come from config; a message may override any. */
export interface Timings {
  checkBackAfterMs: number;
  checkBackBackoff: number;
  maxCheckBackIntervalMs: number;
  confirmDeadlineMs: number;
  resendAfterMs: number;
  resendBackoff: number;
  maxResendIntervalMs: number;
  maxSends: number;
  /** How long one check-back call (producer or consumer) may take before it counts as an error. */
  checkBackTimeoutMs: number;
}

/** What the upstream registers: everything needed to publish the message later. */
export interface MessageSpec {
  key: string;
  topic: string;
  tag?: string;
  body: string;
  /** User properties, published as RocketMQ message properties. */
  properties?: Record<string, string>;
  producerGroup: string;
  /** Deliver this long after publishing (the topic must be a DELAY topic). */
  delayMs?: number;
  /** FIFO message group (the topic must be a FIFO topic). */
  orderKey?: string;
}

export interface ReliableMessageInput {
  message: MessageSpec;
  /** `send` starts already confirmed; `prepare` does not. */
  confirmed: boolean;
  /** A canonical hash of the spec, so a repeat of the prepare can be told from a key reused by mistake. */
  specHash?: string;
  /** Per-message overrides of the global timings. */
  timings?: Partial<Timings>;
  /** Set when the workflow continues as new: where the previous run stopped. */
  resume?: ResumeState;
  /**
   * The starter's protocol (STARTER_PROTOCOL): which command sequence a new run follows. A field of the
   * input rather than patched(), which would cost every message a marker and a billable search-attribute
   * upsert; runs started without it keep the sequence their histories recorded.
   */
  protocol?: number;
  /** For tests only: continue as new at this history length instead of the workflow's own limit. */
  maxHistoryEvents?: number;
}

/**
 * From protocol 2 a message's first workflow task is one local activity (timings, a send's subscribers,
 * the first projection write); before (1, no field), one local activity each.
 */
export const OPENS_IN_ONE_LOCAL_ACTIVITY = 2;
/**
 * From protocol 3 that local activity also makes a send's first publication and writes it, and a
 * prepared message's confirm is carried out in one local activity too (subscribers, first publication,
 * their write): one activation of the workflow instead of three each; before, a local activity each.
 */
export const PUBLISHES_IN_FIRST_LOCAL_ACTIVITY = 3;
/**
 * How long one publication may take: a confirm's answer leaves with the workflow task that publishes, so
 * a broker that hangs may hold a confirm this long at most.
 */
export const PUBLISH_TIMEOUT_MS = 1500;
/**
 * From protocol 4 the write of a message's final state (FINISHED, CANCELLED) is handed to the worker through
 * the FinalWriteSinks, which makes it as the workflow task that ends the workflow completes, not in a local
 * activity before: one activation, one marker and one billable action fewer a message. The task completes
 * only once the write landed (a failed write fails the task, and Temporal retries it), so a completed
 * workflow always has its final projection, as before.
 */
export const WRITES_FINAL_STATE_WITH_TASK = 4;
/**
 * From protocol 5 a send's first task writes its row once, after the first publication, and reads the
 * key before publishing (a key an earlier message holds is still never published): one write transaction
 * a message fewer, and none before the publication.
 */
export const WRITES_FIRST_ROW_AFTER_PUBLICATION = 5;
/**
 * From protocol 6 no decision reads the clock of a workflow task's first activation. A task that is still
 * running a local activity when it must answer a query, or when it heartbeats (a local activity past 80 %
 * of the task timeout), is completed empty and continued in a new task; a replay runs the code before that
 * local activity with the new task's later clock, so a comparison with the clock there may go the other way
 * than it went, and the history no longer replays. So: a resend is due, and the confirm deadline passed,
 * when the wait timer set for that time fired (the wake times reached, not the clock); the next producer
 * check-back is timed from the wake time it was asked at; a send's first task takes the message's start
 * time; and whether to continue as new is decided after a failed call, not as its retry starts.
 */
export const DECIDES_BY_WAKE_TIMES = 6;
/**
 * Also from protocol 6, a run that ends in the activation where its wait ended (the last ack came, or the
 * cancel) leaves that wait's timer pending instead of cancelling it: completing the run drops it, without
 * the TimerCanceled event (one history event a message fewer).
 */
export const ENDS_WITH_ITS_TIMER_PENDING = 6;
/**
 * From protocol 7 a run that ends FINISHED while its status search attribute shows SENDING leaves the
 * attribute so, instead of upserting FINISHED with its last task: a completed run showing SENDING is
 * FINISHED (visibleStatus). One history event and one billable action fewer a message. A run that ends
 * from any other shown status (DEAD, then late acks; a cancel) still upserts its final status.
 */
export const FINISHES_SHOWING_SENDING = 7;
/**
 * From protocol 8 the wake time reached catches up with the clock a producer check-back's route lookup read
 * (a local activity's result, so it replays). After an outage of the service's workers a wait timer fires
 * long after its time; the next check-back, timed from that wake time, was due at once, and so was the one
 * after it: the producer was asked back to back, once for each interval missed, up to the confirm deadline.
 * Now the first check-back after a late wake is the catch-up, the next comes an interval after it, and past
 * the deadline that catch-up is the last before DEAD(UNCONFIRMED).
 */
export const CATCHES_UP_AFTER_A_LATE_WAKE = 8;
/**
 * From protocol 9 acks that come late are heeded where the run waits or retries. A DEAD message that was
 * published waits in the delivery loop after a continue-as-new too, so it is FINISHED once every group
 * consumed; before, the continued run waited for an operator alone and stayed DEAD. And each try of a
 * publication that RocketMQ failed is for the groups still pending at that try: a group that consumed
 * meanwhile gets no copy, and when none is pending any more the resend is dropped, unpublished; before,
 * the groups were those pending at the first try.
 */
export const HEEDS_LATE_ACKS = 9;
/** The protocol new starts follow: the newest. */
export const STARTER_PROTOCOL = Math.max(
  DECIDES_BY_WAKE_TIMES,
  ENDS_WITH_ITS_TIMER_PENDING,
  FINISHES_SHOWING_SENDING,
  CATCHES_UP_AFTER_A_LATE_WAKE,
  HEEDS_LATE_ACKS,
);

/** How a protocol-4 workflow hands its final projection write to the worker (see WRITES_FINAL_STATE_WITH_TASK). */
export interface FinalWriteSinks extends Sinks {
  [FINAL_WRITE_SINK]: { write(write: ProjectionWrite): void };
}
export const FINAL_WRITE_SINK = 'finalProjectionWrite';

/**
 * Version of the `resume` state. Bump it, and keep reading the older shapes, whenever a change of this
 * shape (or of MessageState) would mislead code reading an old one.
 */
export const RESUME_SCHEMA_VERSION = 1;

/** What a run hands to the next one when it continues as new (the message itself stays in `message`). */
export interface ResumeState {
  /**
   * RESUME_SCHEMA_VERSION of the code that handed over. A worker older than that shape fails the workflow
   * task, which waits for a newer worker.
   */
  schemaVersion: number;
  state: MessageState;
  /** Events not yet written to the projection (the database may be down at the hand-over). */
  unsynced: MessageEvent[];
  /** Whether the projection row exists yet. */
  rowWritten: boolean;
}

export interface DeliveryState {
  group: string;
  status: DeliveryStatus;
  sendCount: number;
  receiveCount: number;
  lastError?: string;
  lastSentAt?: number;
  receivedAt?: number;
  consumedAt?: number;
}

export type MessageEventType =
  | 'PREPARED'
  | 'CONFIRMED'
  | 'CANCELLED'
  | 'CHECK_BACK'
  | 'CONSUMER_CHECK_BACK'
  | 'SUBSCRIBERS'
  | 'NO_SUBSCRIBERS'
  | 'PUBLISHED'
  | 'RESENT'
  | 'PUBLISH_FAILED'
  | 'RECEIVED'
  | 'CONSUMED'
  | 'CONSUME_FAILED'
  | 'DEAD'
  | 'OPERATOR_RESEND'
  | 'FINISHED';

export interface MessageEvent {
  seq: number;
  type: MessageEventType;
  at: number;
  group?: string;
  detail?: Record<string, unknown>;
}

/** The whole state of one message, as the `state` query and the projections show it. */
export interface MessageState {
  key: string;
  topic: string;
  tag?: string;
  producerGroup: string;
  status: MessageStatus;
  /** The spec's hash from the start (absent for messages started before it was kept). */
  specHash?: string;
  deadReason?: DeadReason;
  cancelReason?: string;
  /** Publications so far (first send plus resends) since the last operator resend. */
  sendRound: number;
  /** Publications in all. */
  sendCount: number;
  checkBackCount: number;
  deliveries: DeliveryState[];
  timings: Timings;
  createdAt: number;
  confirmedAt?: number;
  publishedAt?: number;
  finishedAt?: number;
  cancelledAt?: number;
  deadAt?: number;
  lastError?: string;
  /** When the subscribers were snapshotted (at confirm). */
  subscribedAt?: number;
  /** When the producer is next asked (while WAITING_CONFIRM). */
  nextCheckBackAt?: number;
  /** When groups that have not consumed are next resent to (while SENDING). */
  nextResendAt?: number;
  /** Sequence number of the last event appended. */
  eventSeq: number;
  /** Grows with every change; projections never let an older version overwrite a newer one. */
  version: number;
}

export type AckStatus = 'RECEIVED' | 'CONSUMED' | 'FAILED';
export interface Ack {
  group: string;
  status: AckStatus;
  /** The handler's error, with status FAILED. */
  error?: string;
  /**
   * With CONSUMED or FAILED: this report also stands for the receipt (the consumer folds RECEIVED into
   * the outcome of a quick handler, saving a signal and a workflow task per message).
   */
  received?: boolean;
}

export interface CancelRequest {
  reason?: string;
  /** Who asked: the producer (its rollback) or an operator. */
  by?: 'producer' | 'operator';
}
export interface ConfirmRequest {
  by?: 'producer' | 'operator';
}

export const confirmUpdate = defineUpdate<MessageState, [ConfirmRequest]>('confirm');
export const cancelUpdate = defineUpdate<MessageState, [CancelRequest]>('cancel');
/** Operator resend: a DEAD message gets a fresh send budget; a SENDING one is resent now. */
export const resendUpdate = defineUpdate<MessageState, []>('resend');
/** Consumers' reports from the SDK: a signal, cheap and fire-and-forget. */
export const ackSignal = defineSignal<[Ack]>('ack');
/** The same report through the HTTP API: an update, so a report from a non-subscriber is refused up front. */
export const ackUpdate = defineUpdate<MessageState, [Ack]>('ack');
export const stateQuery = defineQuery<MessageState>('state');
/** What the state query answers (a failure) before the message's first task has made its state. */
export function stillOpening(key: string): string {
  return `message ${key} is still opening`;
}

export const SearchAttribute = {
  messageKey: defineSearchAttributeKey('MessageKey', 'KEYWORD'),
  topic: defineSearchAttributeKey('MessageTopic', 'KEYWORD'),
  status: defineSearchAttributeKey('MessageStatus', 'KEYWORD'),
  producerGroup: defineSearchAttributeKey('ProducerGroup', 'KEYWORD'),
};

/**
 * The status a message's Temporal visibility record stands for, from its MessageStatus search attribute and
 * its execution status (the SDK's names: RUNNING, COMPLETED, TERMINATED...). A run that ends FINISHED while
 * the attribute shows SENDING leaves it so (FINISHES_SHOWING_SENDING): a completed run that shows SENDING is
 * FINISHED. Every other final status is upserted as the run ends; a run closed any other way (terminated by
 * hand, say) did not finish, whatever it shows.
 */
export function visibleStatus(searchAttribute: string | undefined, executionStatus: string): string | undefined {
  return executionStatus === 'COMPLETED' && searchAttribute === 'SENDING' ? 'FINISHED' : searchAttribute;
}

/** Application failure types the workflow raises, so callers can tell them apart. */
export const FailureType = {
  invalidTransition: 'InvalidTransition',
  /** An ack from a consumer group that is not a subscriber of the message. */
  notASubscriber: 'NotASubscriber',
  /** RocketMQ refused the publication for a reason no retry can cure (raised by the publish activity). */
  publishRejected: 'PublishRejected',
  /** The key belongs to an earlier message (raised by the first projection write). */
  keyReused: 'KeyReused',
  /** The state query asked before the message's first task made its state. */
  opening: 'MessageOpening',
  /**
   * A final projection write that failed, made by the worker as the ending task completes (protocol 4): it
   * fails that workflow task, not the workflow, and the task is retried.
   */
  finalWriteFailed: 'FinalProjectionWriteFailed',
  /** The service refused an SDK's registration (raised by the register activity; details: field, rule). */
  registrationRefused: 'RegistrationRefused',
} as const;

/** What the SDKs register with the service (see registerWorkflow). */
export type Registration =
  | { kind: 'subscription'; topic: string; tagExpression: string; consumerGroup: string }
  | { kind: 'producer' | 'consumer'; group: string; checkBackTaskQueue?: string };

export const REGISTER_WORKFLOW = 'registerWorkflow';

export const HOUSEKEEPING_WORKFLOW = 'housekeepingWorkflow';
/** The Temporal Schedule that runs housekeeping daily; operators see and trigger it in Temporal UI. */
export const HOUSEKEEPING_SCHEDULE_ID = 'rmsg-housekeeping';

export interface HousekeepingInput {
  /** FINISHED/CANCELLED messages that ended longer ago than this are archived. */
  retentionMs: number;
  /** Messages moved per activity call (one transaction). */
  batchSize: number;
  /** Batches before the run continues as new, bounding its history (default 500; small in tests). */
  maxBatchesPerRun?: number;
  /** Set on continue-as-new: the run's cutoff (epoch ms) and what was done so far. */
  resume?: { cutoff: number; totals: HousekeepingTotals };
}

export interface HousekeepingTotals {
  /** Messages removed from rm_message (with their deliveries and events). */
  moved: number;
  /** Archive rows written (fewer than moved only for keys that were already archived). */
  archived: number;
  batches: number;
}

export interface HousekeepingResult extends HousekeepingTotals {
  cutoff: number;
}
