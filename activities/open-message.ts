import type { Timings } from '../workflows/definitions.js';
import { type Opening, opened } from '../workflows/message-state.js';
import type { projectionWriting } from './projection.js';
import type { createSubscriberActivities } from './subscribers.js';

export type OpenMessageInput = Omit<Opening, 'timings' | 'subscribers'> & { overrides: Partial<Timings> };

export interface OpenMessageResult {
  timings: Timings;
  /** Taken for a confirmed message and written with it. */
  subscribers?: string[];
  /** Why nothing was written: the key is an earlier message's. */
  keyReused?: string;
}

/**
 * A message's whole first workflow task in one local activity (one activation of the workflow instead of
 * three): its timings, a send's subscribers, and its first projection write. The workflow builds the same
 * state from the answer with the same pure function (`opened`), so what was written is what it holds.
 */
export function createOpenMessageActivities(deps: {
  resolveTimings: (overrides: Partial<Timings>) => Promise<Timings>;
  snapshotSubscribers: ReturnType<typeof createSubscriberActivities>['snapshotSubscribers'];
  writeProjection: ReturnType<typeof projectionWriting>;
}) {
  return {
    async openMessage({ overrides, ...opening }: OpenMessageInput): Promise<OpenMessageResult> {
      const { message, confirmed } = opening;
      const timings = await deps.resolveTimings(overrides);
      const subscribers = confirmed
        ? await deps.snapshotSubscribers({ topic: message.topic, tag: message.tag })
        : undefined;
      const t = opened({ ...opening, timings, subscribers });
      const { keyReused } = await deps.writeProjection({
        state: t.state,
        deliveries: t.state.deliveries,
        events: t.unsynced,
        message,
      });
      return keyReused === undefined ? { timings, subscribers } : { timings, keyReused };
    },
  };
}
