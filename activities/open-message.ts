import type { Timings } from '../workflows/definitions.js';
import { type FirstPublication, type Opening, opened } from '../workflows/message-state.js';
import { ProjectionSync } from '../workflows/projection-sync.js';
import { type PublishMessage, publishFirstAndWrite, type WriteProjection } from './first-publication.js';
import type { createSubscriberActivities } from './subscribers.js';

export type OpenMessageInput = Omit<Opening, 'timings' | 'subscribers'> & {
  overrides: Partial<Timings>;
  /** A confirmed message is also published, to the subscribers taken, and that is written too. */
  publish?: boolean;
  /**
   * From protocol 5, a message published here is written once, after its publication, its key read
   * (not written) before it; before, its row was written before the publication and again after.
   */
  writeOnceAfterPublication?: boolean;
};

export interface OpenMessageResult {
  timings: Timings;
  /** Taken for a confirmed message and written with it. */
  subscribers?: string[];
  /** Why nothing was written: the key is an earlier message's. */
  keyReused?: string;
  /** The first publication, when asked for; `written` when its projection write landed too. */
  publication?: FirstPublication & { written: boolean };
}

/**
 * A message's whole first workflow task in one local activity (one activation of the workflow instead of
 * five): its timings, a send's subscribers, its first projection write, and a confirmed message's first
 * publication with its write (from protocol 5 a single write, after the publication, the key read
 * before). The workflow builds the same state from the answer with the same pure functions (`opened`,
 * `firstPublished`) and the same write bookkeeping, so what was written is what it holds.
 */
export function createOpenMessageActivities(deps: {
  resolveTimings: (overrides: Partial<Timings>) => Promise<Timings>;
  snapshotSubscribers: ReturnType<typeof createSubscriberActivities>['snapshotSubscribers'];
  writeProjection: WriteProjection;
  publishMessage: PublishMessage;
  /** Why the message may not have its key (an earlier message holds it), read without writing. */
  keyReusedBy: (key: string, createdAt: number) => Promise<string | undefined>;
}) {
  return {
    async openMessage({
      overrides,
      publish,
      writeOnceAfterPublication,
      ...opening
    }: OpenMessageInput): Promise<OpenMessageResult> {
      const { message, confirmed, at } = opening;
      const timings = await deps.resolveTimings(overrides);
      if (publish && confirmed && writeOnceAfterPublication) {
        // The key is checked before anything is published; the row is written once, with the publication.
        const [subscribers, keyReused] = await Promise.all([
          deps.snapshotSubscribers({ topic: message.topic, tag: message.tag }),
          deps.keyReusedBy(message.key, opening.createdAt),
        ]);
        if (keyReused !== undefined) return { timings, keyReused };
        const t = opened({ ...opening, timings, subscribers });
        const { publication, written } = await publishFirstAndWrite(
          deps,
          t,
          new ProjectionSync(message, false),
          at,
          message,
        );
        return { timings, subscribers, publication: { ...publication, written } };
      }
      const subscribers = confirmed
        ? await deps.snapshotSubscribers({ topic: message.topic, tag: message.tag })
        : undefined;
      const t = opened({ ...opening, timings, subscribers });
      const projection = new ProjectionSync(message, false);
      const first = projection.next(t);
      // A copy: the state goes on to its publication, and a write holds the state as it was taken.
      const { keyReused } = await deps.writeProjection(structuredClone(first.input));
      if (keyReused !== undefined) return { timings, keyReused };
      if (!(publish && confirmed)) return { timings, subscribers };

      projection.written(t, first);
      const { publication, written } = await publishFirstAndWrite(deps, t, projection, at, message);
      return { timings, subscribers, publication: { ...publication, written } };
    },
  };
}
