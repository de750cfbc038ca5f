import { ApplicationFailure } from '@temporalio/activity';
import type { Prisma, PrismaClient } from '../src/db/prisma.js';
import type { ProjectionWrite } from '../src/db/projection-writer.js';
import type { DependencyGate } from '../src/dependency-gate.js';
import { KeyReusedError } from '../src/errors.js';
import { observeEvents } from '../src/metrics.js';
import type { DeliveryState, MessageSpec, MessageState } from '../workflows/definitions.js';
import { FailureType, workflowIdForKey } from '../workflows/definitions.js';
import type { ActivityDeps } from './deps.js';

/** What a workflow hands its projection write: its state and what changed since the last write. */
export type SyncProjectionInput = ProjectionWrite;

const date = (ms: number | undefined) => (ms === undefined ? null : new Date(ms));

/**
 * Writes the workflow's state into the MySQL projections, grouped with other workflows' writes (see
 * ProjectionWriter). A first write whose key belongs to an earlier message (its workflow past Temporal's
 * retention) is refused for good: one key is one message.
 */
export function createProjectionActivities({
  projections,
  mysql,
}: Pick<ActivityDeps, 'projections'> & { mysql: DependencyGate }) {
  return {
    async syncProjection(write: SyncProjectionInput): Promise<void> {
      const outcome = await mysql.call(() => projections.write(write));
      if (outcome.kind === 'keyReused') {
        throw ApplicationFailure.create({
          type: FailureType.keyReused,
          nonRetryable: true,
          message: KeyReusedError.ofEarlierMessage(write.state.key, outcome.earlier).message,
        });
      }
      // The version guard turns a retry of a committed write into a no-op, so these events are counted once.
      if (outcome.newEvents > 0) observeEvents(write.state, write.events);
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
