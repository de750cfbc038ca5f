import { Prisma } from '../src/db/prisma.js';
import type { ActivityDeps } from './deps.js';

export interface ArchiveBatchInput {
  /** Epoch ms: messages that ended before this are due. */
  cutoff: number;
  batchSize: number;
}

export interface ArchiveBatchResult {
  /** Messages deleted from rm_message (deliveries and events go with them by cascade). */
  moved: number;
  /** Archive rows written; a message whose id was archived already counts as moved, not archived. */
  archived: number;
  ms: number;
}

/** The final statuses housekeeping archives, with the column saying when each message ended. */
const ENDED_AT = { FINISHED: 'finished_at', CANCELLED: 'cancelled_at' } as const;

export function createHousekeepingActivities({ prisma, log }: Pick<ActivityDeps, 'prisma' | 'log'>) {
  return {
    /**
     * Moves up to `batchSize` due messages into rm_message_archive, in one transaction: a retry after
     * any failure finds either everything or nothing done. Only FINISHED and CANCELLED are ever picked.
     */
    async archiveBatch({ cutoff, batchSize }: ArchiveBatchInput): Promise<ArchiveBatchResult> {
      const t0 = Date.now();
      const before = new Date(cutoff);
      const { moved, archived, stuck } = await prisma.$transaction(
        async (tx) => {
          const picked: { id: bigint; created_at: Date }[] = [];
          for (const [status, endedAt] of Object.entries(ENDED_AT)) {
            // `created_at < cutoff` is implied (a message ends after it is created) but lets the scan
            // use the (status, created_at) index and stop at LIMIT. SKIP LOCKED: a concurrent run
            // takes other rows instead of waiting.
            const rows = await tx.$queryRaw<{ id: bigint; created_at: Date }[]>`
              SELECT id, created_at FROM rm_message
              WHERE status = ${status} AND created_at < ${before} AND ${Prisma.raw(endedAt)} < ${before}
              ORDER BY created_at LIMIT ${batchSize} FOR UPDATE SKIP LOCKED`;
            picked.push(...rows);
          }
          picked.sort((a, b) => +new Date(a.created_at) - +new Date(b.created_at));
          const ids = picked.slice(0, batchSize).map((r) => BigInt(r.id));
          if (ids.length === 0) return { moved: 0, archived: 0, stuck: [] as string[] };

          const messages = await tx.message.findMany({
            where: { id: { in: ids } },
            include: { deliveries: { orderBy: { consumerGroup: 'asc' } }, events: { orderBy: { seq: 'asc' } } },
          });
          const { count } = await tx.messageArchive.createMany({ data: messages.map(toArchive), skipDuplicates: true });
          // Delete only what the archive now holds. A key archived earlier under another message id
          // (the key was reused after Temporal forgot the first workflow) is left in place, not lost.
          const inArchive = await tx.messageArchive.findMany({ where: { id: { in: ids } }, select: { id: true } });
          const done = new Set(inArchive.map((a) => a.id));
          const { count: deleted } = await tx.message.deleteMany({ where: { id: { in: [...done] } } });
          const left = messages.filter((m) => !done.has(m.id)).map((m) => m.key);
          return { moved: deleted, archived: count, stuck: left };
        },
        // Read committed: no gap locks on the index ranges scanned, so projection writes never wait.
        { isolationLevel: 'ReadCommitted', maxWait: 10_000, timeout: 120_000 },
      );
      const ms = Date.now() - t0;
      if (stuck.length > 0)
        log.warn({ keys: stuck }, 'housekeeping: keys already archived under another message; left in rm_message');
      log.info({ moved, archived, batchSize, cutoff: before.toISOString(), ms }, 'housekeeping: archive batch');
      return { moved, archived, ms };
    },
  };
}

type MessageWithHistory = Prisma.MessageGetPayload<{ include: { deliveries: true; events: true } }>;

function toArchive({ deliveries, events, ...m }: MessageWithHistory): Prisma.MessageArchiveCreateManyInput {
  return {
    ...m,
    properties: m.properties === null ? Prisma.DbNull : (m.properties as Prisma.InputJsonValue),
    options: m.options as Prisma.InputJsonValue,
    deliveries: deliveries.map((d) => toJson(d)),
    events: events.map((e) => toJson(e)),
  };
}

/** A delivery or event row as JSON: without the ids that mean nothing outside rm_*, dates as ISO strings. */
function toJson(row: object): Prisma.InputJsonObject {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (k === 'id' || k === 'messageKey') continue;
    out[k] = v instanceof Date ? v.toISOString() : v;
  }
  return out as Prisma.InputJsonObject;
}
