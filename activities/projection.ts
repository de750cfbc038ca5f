import { ApplicationFailure } from '@temporalio/activity';
import type { Prisma, PrismaClient } from '../src/db/prisma.js';
import type { DependencyGate } from '../src/dependency-gate.js';
import { KeyReusedError } from '../src/errors.js';
import { observeEvents } from '../src/metrics.js';
import type { DeliveryState, MessageEvent, MessageSpec, MessageState } from '../workflows/definitions.js';
import { FailureType, workflowIdForKey } from '../workflows/definitions.js';
import type { ActivityDeps } from './deps.js';

export interface SyncProjectionInput {
  state: MessageState;
  /** The deliveries that changed since the last write (all of them on the first). */
  deliveries: DeliveryState[];
  /** Events appended since the last write. */
  events: MessageEvent[];
  /** Given until the row exists: what the message row is created from. */
  message?: MessageSpec;
}

const date = (ms: number | undefined) => (ms === undefined ? null : new Date(ms));

type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/**
 * A row (or archive entry) with this key that this run did not create belongs to an earlier message whose
 * workflow is past Temporal's retention: one key is one message, so this one is refused for good. A retry
 * of this run's own first write, by a retried first task too, finds its own row (same creation time: the
 * execution's start) and goes on.
 */
async function refuseReusedKey(
  tx: Tx,
  state: MessageState,
  row: { createdAt: Date; status: string } | null,
): Promise<void> {
  let earlier = row && row.createdAt.getTime() !== state.createdAt ? row : null;
  if (!row) {
    earlier = await tx.messageArchive.findUnique({
      where: { key: state.key },
      select: { createdAt: true, status: true },
    });
  }
  if (!earlier) return;
  throw ApplicationFailure.create({
    type: FailureType.keyReused,
    nonRetryable: true,
    message: KeyReusedError.ofEarlierMessage(state.key, earlier).message,
  });
}

/**
 * Writes the workflow's state into the MySQL projections in one transaction. Idempotent and
 * order-safe: a write whose version is not newer than the stored one changes nothing, so activity
 * retries never double an event or roll state back.
 */
export function createProjectionActivities({
  prisma,
  mysql,
}: Pick<ActivityDeps, 'prisma'> & { mysql: DependencyGate }) {
  return {
    async syncProjection({ state, deliveries, events, message }: SyncProjectionInput): Promise<void> {
      const row = messageRowOf(state);
      const inserted = await mysql.call(
        () =>
          prisma.$transaction(async (tx) => {
            // The first write creates the row (one lookup, no update that cannot match); later writes,
            // and a retried first one, update it only if this version is newer.
            const exists = message
              ? await tx.message.findUnique({ where: { key: state.key }, select: { createdAt: true, status: true } })
              : true;
            if (message) await refuseReusedKey(tx, state, exists === true ? null : exists);
            if (message && !exists) {
              await tx.message.create({ data: newMessageRowOf(state, message) });
            } else {
              const updated = await tx.message.updateMany({
                where: { key: state.key, version: { lt: state.version } },
                data: row,
              });
              if (updated.count === 0) return 0; // this version (or a newer one) is already stored
            }
            for (const d of deliveries) await upsertDelivery(tx, state, d);
            if (events.length > 0) {
              const { count } = await tx.messageEvent.createMany({
                data: events.map((e) => ({
                  messageKey: state.key,
                  seq: e.seq,
                  type: e.type,
                  consumerGroup: e.group ?? null,
                  detail: e.detail === undefined ? undefined : (e.detail as object),
                  createdAt: new Date(e.at),
                })),
                skipDuplicates: true,
              });
              return count;
            }
            return 0;
          }),
        // A refused key is MySQL's answer, not MySQL being down.
        (err) => !(err instanceof ApplicationFailure),
      );
      // The version guard turns a retry of a committed write into a no-op (0 above), so these events are
      // new and counted once; a partial insert (events already there) is not counted rather than twice.
      if (inserted > 0 && inserted === events.length) observeEvents(state, events);
    },
  };
}

/** The message row's fields that follow the workflow's state. */
function messageRowOf(state: MessageState) {
  return {
    status: state.status,
    deadReason: state.deadReason ?? null,
    cancelReason: state.cancelReason ?? null,
    sendCount: state.sendCount,
    checkBackCount: state.checkBackCount,
    lastError: state.lastError ?? null,
    version: state.version,
    confirmedAt: date(state.confirmedAt),
    publishedAt: date(state.publishedAt),
    finishedAt: date(state.finishedAt),
    cancelledAt: date(state.cancelledAt),
    deadAt: date(state.deadAt),
  };
}

function newMessageRowOf(state: MessageState, message: MessageSpec): Prisma.MessageCreateInput {
  return {
    ...messageRowOf(state),
    key: message.key,
    topic: message.topic,
    tag: message.tag ?? null,
    body: message.body,
    properties: message.properties ?? undefined,
    producerGroup: message.producerGroup,
    orderKey: message.orderKey ?? null,
    delayMs: message.delayMs ?? null,
    options: { ...state.timings },
    workflowId: workflowIdForKey(message.key),
    createdAt: new Date(state.createdAt),
  };
}

async function upsertDelivery(tx: Prisma.TransactionClient, state: MessageState, d: DeliveryState): Promise<void> {
  const fields = {
    status: d.status,
    sendCount: d.sendCount,
    receiveCount: d.receiveCount,
    lastError: d.lastError ?? null,
    lastSentAt: date(d.lastSentAt),
    receivedAt: date(d.receivedAt),
    consumedAt: date(d.consumedAt),
    deadAt: d.status === 'DEAD' ? date(state.deadAt) : null,
  };
  await tx.delivery.upsert({
    where: { messageKey_consumerGroup: { messageKey: state.key, consumerGroup: d.group } },
    create: { messageKey: state.key, consumerGroup: d.group, ...fields },
    update: fields,
  });
}

export type ResyncOutcome = 'updated' | 'created' | 'unchanged' | 'newer' | 'missing';

/**
 * Repair: makes a message's projection say what its workflow's `state` query says, whatever the
 * version stored (a restored database holds an older one; a diverged row may hold the same). Writes
 * the row and every delivery; events the database lost cannot be rebuilt from the state and stay
 * lost. Never goes back past a newer version (the live workflow may write while this runs). A missing
 * row is created when `message` (the workflow's input) is given.
 * Outcomes: `updated`, `created`, `unchanged` (the row already agreed), `newer` (the row is ahead of
 * the state asked; nothing written), `missing` (no row and no message to create it from).
 */
export async function resyncProjection(
  prisma: PrismaClient,
  state: MessageState,
  message?: MessageSpec,
): Promise<ResyncOutcome> {
  return prisma.$transaction(async (tx) => {
    const row = await tx.message.findUnique({ where: { key: state.key }, select: { version: true, status: true } });
    if (!row && !message) return 'missing';
    if (row && row.version > state.version) return 'newer';
    if (row) {
      const stored = await tx.delivery.count({ where: { messageKey: state.key } });
      if (row.version === state.version && row.status === state.status && stored === state.deliveries.length)
        return 'unchanged';
      const { count } = await tx.message.updateMany({
        where: { key: state.key, version: { lte: state.version } },
        data: messageRowOf(state),
      });
      if (count === 0) return 'newer';
    } else if (message) {
      await tx.message.create({ data: newMessageRowOf(state, message) });
    }
    for (const d of state.deliveries) await upsertDelivery(tx, state, d);
    return row ? 'updated' : 'created';
  });
}
