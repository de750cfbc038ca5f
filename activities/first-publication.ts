import { ApplicationFailure } from '@temporalio/activity';
import type { ProjectionWrite } from '../src/db/projection-writer.js';
import { settlesBefore } from '../src/deadline.js';
import { FailureType, type MessageSpec, PUBLISH_TIMEOUT_MS } from '../workflows/definitions.js';
import {
  type FirstPublication,
  firstPublished,
  pendingGroups,
  snapshotSubscribers,
  type Tracked,
} from '../workflows/message-state.js';
import { ProjectionSync } from '../workflows/projection-sync.js';
import type { PublishInput } from './publish.js';
import type { createSubscriberActivities } from './subscribers.js';

/** The worker's publishMessage activity: a refusal is an ApplicationFailure of type publishRejected. */
export type PublishMessage = (input: PublishInput) => Promise<{ messageId: string }>;
/** A projection write through the grouped writer; says whether the key is an earlier message's. */
export type WriteProjection = (write: ProjectionWrite) => Promise<{ keyReused?: string }>;

/**
 * A message's first publication, to `groups`, within PUBLISH_TIMEOUT_MS as any publication; never throws:
 * a failure, a timeout or a refusal is the answer. A publication given up on may still land: the
 * workflow's next try is then a second copy, which consumers with idempotency skip.
 */
export async function firstPublication(
  publishMessage: PublishMessage,
  key: string,
  groups: string[],
  message: MessageSpec,
): Promise<FirstPublication> {
  const outcome = publishMessage({ key, groups, round: 1, delayMs: message.delayMs, message }).then(
    (published): FirstPublication => published,
    (err: unknown): FirstPublication => {
      if (err instanceof ApplicationFailure && err.type === FailureType.publishRejected)
        return { rejected: err.message };
      return { failed: (err instanceof Error ? err.message : String(err)).slice(0, 500) };
    },
  );
  if (await settlesBefore(outcome, Date.now() + PUBLISH_TIMEOUT_MS)) return outcome;
  return { failed: `RocketMQ did not answer within ${PUBLISH_TIMEOUT_MS} ms` };
}

/**
 * The first publication, to the groups `t` is open for, applied to `t` and written (`projection` knows
 * what was written before): the steps a send's first task and a confirm share.
 */
export async function publishFirstAndWrite(
  deps: { publishMessage: PublishMessage; writeProjection: WriteProjection },
  t: Tracked,
  projection: ProjectionSync,
  at: number,
  message: MessageSpec,
): Promise<{ publication: FirstPublication; written: boolean }> {
  const publication = await firstPublication(deps.publishMessage, t.state.key, pendingGroups(t.state), message);
  firstPublished(t, at, message.delayMs, publication);
  // A write that fails here is the workflow's to make again, as it holds the state (and a first write
  // refused for its key is then refused again, to the workflow).
  const written = await deps.writeProjection(projection.next(t).input).then(
    ({ keyReused }) => keyReused === undefined,
    () => false,
  );
  return { publication, written };
}

export interface PublishConfirmedInput {
  /** The message as the confirm left it, with the events not written yet. */
  tracked: Tracked;
  /** When the workflow asked (the time of the events this makes). */
  at: number;
  message: MessageSpec;
}

export interface PublishConfirmedResult {
  subscribers: string[];
  publication: FirstPublication;
  /** The state version written, when the write landed. */
  writtenVersion?: number;
}

/**
 * A prepared message's confirm, carried out in one local activity (one activation of the workflow instead
 * of three): its subscribers, its first publication, and their projection write. The workflow applies
 * the same pure transitions (`snapshotSubscribers`, `firstPublished`) to the same state, so what was
 * written is what it holds.
 */
export function createFirstPublicationActivities(deps: {
  snapshotSubscribers: ReturnType<typeof createSubscriberActivities>['snapshotSubscribers'];
  writeProjection: WriteProjection;
  publishMessage: PublishMessage;
}) {
  return {
    async publishConfirmed({ tracked: t, at, message }: PublishConfirmedInput): Promise<PublishConfirmedResult> {
      const subscribers = await deps.snapshotSubscribers({ topic: message.topic, tag: message.tag });
      snapshotSubscribers(t, at, subscribers);
      // The row exists (the first task wrote it), and none of these deliveries was written before.
      const { publication, written } = await publishFirstAndWrite(
        deps,
        t,
        new ProjectionSync(message, true),
        at,
        message,
      );
      return { subscribers, publication, writtenVersion: written ? t.state.version : undefined };
    },
  };
}
