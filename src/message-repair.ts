/**
 * The operator's way out for a message whose workflow is stuck (its task fails on every try, e.g. a history
 * that the deployed code cannot replay): end that run and start a fresh one from the message's MySQL
 * projection. The fresh run resends at once to the groups the projection does not show as consumed, with a
 * fresh send budget; consumers with idempotency skip a copy they already
 * handled. A message that is still waiting for its confirm asks its producer's check-back at once.
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import {
  type DeliveryState,
  type MessageSpec,
  type MessageState,
  RELIABLE_MESSAGE_WORKFLOW,
  RESUME_SCHEMA_VERSION,
  type ReliableMessageInput,
  type ResumeState,
  STARTER_PROTOCOL,
  type Timings,
  workflowIdForKey,
} from '../workflows/definitions.js';
import { shownAs } from './client/start-message.js';
import type { PrismaClient } from './db/prisma.js';
import { InvalidTransitionError, MessageNotFoundError } from './errors.js';

type Row = NonNullable<Awaited<ReturnType<typeof findProjection>>>;

function findProjection(prisma: PrismaClient, key: string) {
  return prisma.message.findUnique({
    where: { key },
    include: { deliveries: { orderBy: { consumerGroup: 'asc' } }, events: { select: { seq: true } } },
  });
}

const ms = (d: Date | null) => (d === null ? undefined : d.getTime());

/** The message as its projection shows it, and the state a fresh run resumes from. */
export function resumeFromProjection(row: Row, now: number): { message: MessageSpec; resume: ResumeState } {
  const message: MessageSpec = {
    key: row.key,
    topic: row.topic,
    tag: row.tag ?? undefined,
    body: row.body,
    properties: (row.properties as Record<string, string> | null) ?? undefined,
    producerGroup: row.producerGroup,
    delayMs: row.delayMs ?? undefined,
    orderKey: row.orderKey ?? undefined,
  };
  const deliveries: DeliveryState[] = row.deliveries.map((d) => ({
    group: d.consumerGroup,
    // Given up on, or waiting: either way the fresh run sends to it again.
    status: d.status === 'CONSUMED' ? 'CONSUMED' : 'PENDING',
    sendCount: d.sendCount,
    receiveCount: d.receiveCount,
    lastError: d.lastError ?? undefined,
    lastSentAt: ms(d.lastSentAt),
    receivedAt: ms(d.receivedAt),
    consumedAt: ms(d.consumedAt),
  }));
  const waiting = row.status === 'WAITING_CONFIRM' || (row.status === 'DEAD' && row.deadReason === 'UNCONFIRMED');
  const sent = row.sendCount > 0;
  const state: MessageState = {
    key: row.key,
    topic: row.topic,
    tag: row.tag ?? undefined,
    producerGroup: row.producerGroup,
    status: waiting ? row.status : 'SENDING',
    deadReason: waiting && row.status === 'DEAD' ? 'UNCONFIRMED' : undefined,
    sendRound: 0,
    sendCount: row.sendCount,
    checkBackCount: row.checkBackCount,
    deliveries,
    timings: row.options as unknown as Timings,
    createdAt: row.createdAt.getTime(),
    confirmedAt: ms(row.confirmedAt),
    publishedAt: ms(row.publishedAt),
    deadAt: waiting ? ms(row.deadAt) : undefined,
    lastError: row.lastError ?? undefined,
    // A message published before was snapshotted then; one never published takes a fresh snapshot.
    subscribedAt: sent ? (ms(row.publishedAt) ?? now) : undefined,
    nextCheckBackAt: waiting ? now : undefined,
    nextResendAt: now,
    eventSeq: Math.max(0, ...row.events.map((e) => e.seq)),
    version: row.version,
  };
  return { message, resume: { schemaVersion: RESUME_SCHEMA_VERSION, state, unsynced: [], rowWritten: true } };
}

/** The message's projection, unless it is missing or its message has ended (nothing to repair). */
async function repairableProjection(prisma: PrismaClient, key: string): Promise<Row> {
  const row = await findProjection(prisma, key);
  if (!row) throw new MessageNotFoundError(key);
  if (row.status === 'FINISHED' || row.status === 'CANCELLED') {
    throw new InvalidTransitionError(key, `message ${key} is ${row.status}; there is nothing to repair`);
  }
  return row;
}

/** Ends the message's current run and starts a fresh one from its projection; returns the state it resumes from. */
export async function repairMessage(
  deps: { temporal: Client; prisma: PrismaClient; taskQueue: string },
  key: string,
): Promise<MessageState> {
  await repairableProjection(deps.prisma, key);
  const workflowId = workflowIdForKey(key);
  const handle = deps.temporal.workflow.getHandle(workflowId);
  try {
    await handle.terminate(`repair: restarted from its projection`);
  } catch (err) {
    // Closed already (it may have completed since the read above), or gone past retention.
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  // Read again now that no run changes it: a run that completed meanwhile wrote its final state.
  const row = await repairableProjection(deps.prisma, key);
  const { message, resume } = resumeFromProjection(row, Date.now());
  // The newest command sequence, as for a fresh start: a resumed run replays like a continued one.
  const input: ReliableMessageInput = {
    message,
    confirmed: resume.state.status !== 'WAITING_CONFIRM',
    resume,
    protocol: STARTER_PROTOCOL,
  };
  await deps.temporal.workflow.start(RELIABLE_MESSAGE_WORKFLOW, {
    taskQueue: deps.taskQueue,
    workflowId,
    args: [input],
    // Only a repair starts a run under a key whose earlier run is closed.
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    workflowIdConflictPolicy: 'FAIL',
    // Shown from the projection, not copied from the ended run: that one may be gone (past retention)
    // or show a status the fresh run has left (DEAD, resent at once).
    ...shownAs(message, resume.state.status),
  });
  return resume.state;
}
