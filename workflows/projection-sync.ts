/**
 * What the workflow has written to its MySQL projection so far, so each write carries only what changed.
 * Pure bookkeeping, no Temporal APIs: a write is taken with `next()` and counted with `written()` only
 * once it landed, so a failed write is simply taken again (with anything that changed meanwhile).
 */
import type { ProjectionWrite } from '../src/db/projection-writer.js';
import type { MessageSpec } from './definitions.js';
import type { Tracked } from './message-state.js';

export interface PendingWrite {
  input: ProjectionWrite;
  version: number;
  deliveries: (readonly [group: string, json: string])[];
}

export class ProjectionSync {
  /** The version last written; -1 before the first write, so a fresh run always writes once. */
  private syncedVersion = -1;
  /** Each delivery as last written. */
  private readonly syncedDeliveries = new Map<string, string>();

  constructor(
    private readonly message: MessageSpec,
    /** Whether the row exists: after it is created, writes no longer carry the message itself. */
    public rowWritten: boolean,
  ) {}

  needed(t: Tracked): boolean {
    return t.state.version !== this.syncedVersion;
  }

  /**
   * The next write. Schedule it at once (its input is serialized then); the version and deliveries are
   * noted as of now, since the state may change again while the write is under way.
   */
  next(t: Tracked): PendingWrite {
    const changed = t.state.deliveries.filter((d) => this.syncedDeliveries.get(d.group) !== JSON.stringify(d));
    return {
      input: {
        state: t.state,
        deliveries: changed,
        events: [...t.unsynced],
        message: this.rowWritten ? undefined : this.message,
      },
      version: t.state.version,
      deliveries: changed.map((d) => [d.group, JSON.stringify(d)] as const),
    };
  }

  written(t: Tracked, write: PendingWrite): void {
    this.syncedVersion = write.version;
    this.rowWritten = true;
    for (const [group, json] of write.deliveries) this.syncedDeliveries.set(group, json);
    t.unsynced.splice(0, write.input.events.length);
  }
}
