import type { RedriveFilter } from '../../workflows/operator-definitions.js';
import type { Prisma, PrismaClient } from '../db/prisma.js';

/**
 * Which messages an operator's bulk action (or its dry run, or DEAD triage) is about. Everything but
 * the error class is a SQL condition; the error class is a normalised `lastError`, computed here.
 */

const NO_ERROR = '(no error)';

/**
 * An error message with what varies from one message to the next (ids, numbers, quoted values)
 * replaced, so "timeout after 3012 ms on order-17" and "... 2990 ms on order-18" are one class.
 */
export function errorClassOf(error: string | null | undefined): string {
  const firstLine = error?.split('\n')[0]?.trim();
  if (!firstLine) return NO_ERROR;
  return firstLine
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
    .replace(/"[^"]*"|'[^']*'|`[^`]*`/g, '<s>')
    .replace(/\b[0-9a-f]{12,}\b/gi, '<hex>')
    .replace(/\b[\w.-]*\d[\w.-]*\b/g, (word) => (/^\d+(\.\d+)?$/.test(word) ? '<n>' : word.replace(/\d+/g, '<n>')))
    .replace(/\s+/g, ' ')
    .slice(0, 160);
}

export interface SelectedMessage {
  id: bigint;
  key: string;
  topic: string;
  deadReason: string | null;
  deadAt: Date | null;
  /** One entry per delivery the filter is about (or one with group null), with its error class. */
  units: { group: string | null; errorClass: string; error: string | null }[];
}

const selectFields = {
  id: true,
  key: true,
  topic: true,
  status: true,
  deadReason: true,
  deadAt: true,
  lastError: true,
  deliveries: { select: { consumerGroup: true, status: true, lastError: true }, orderBy: { consumerGroup: 'asc' } },
} as const;

type Row = Prisma.MessageGetPayload<{ select: typeof selectFields }>;

/** The SQL part of a filter. A consumer group of a DEAD selection means a DEAD delivery to it. */
export function whereOf(filter: RedriveFilter): Prisma.MessageWhereInput {
  const deliveryStatus = filter.status === 'DEAD' ? ('DEAD' as const) : undefined;
  return {
    status: filter.status,
    deadReason: filter.reason,
    topic: filter.topic,
    deliveries: filter.consumerGroup
      ? { some: { consumerGroup: filter.consumerGroup, status: deliveryStatus } }
      : undefined,
    createdAt: {
      gte: filter.from ? new Date(filter.from) : undefined,
      lt: filter.to ? new Date(filter.to) : undefined,
    },
  };
}

/**
 * What a message is stuck on: each delivery that has not been consumed (DEAD ones, for a DEAD
 * message), restricted to the filter's group; a message without such deliveries (unconfirmed) is one
 * unit without a group. Each unit's error is the delivery's lastError, else the message's.
 */
function unitsOf(row: Row, filter: RedriveFilter): SelectedMessage['units'] {
  const open = row.deliveries.filter(
    (d) =>
      (row.status === 'DEAD' ? d.status === 'DEAD' : d.status !== 'CONSUMED') &&
      (!filter.consumerGroup || d.consumerGroup === filter.consumerGroup),
  );
  const units =
    open.length > 0
      ? open.map((d) => ({ group: d.consumerGroup, error: d.lastError ?? row.lastError }))
      : [{ group: null, error: row.lastError }];
  return units
    .map((u) => ({ ...u, errorClass: errorClassOf(u.error) }))
    .filter((u) => !filter.errorClass || u.errorClass === filter.errorClass);
}

export interface SelectionPage {
  matches: SelectedMessage[];
  /** The last id looked at; null once nothing is left up to `maxId`. */
  cursorId: bigint | null;
}

/** The next page of the selection in id order: rows with `afterId < id <= maxId`, `scan` at a time. */
export async function selectPage(
  prisma: PrismaClient,
  filter: RedriveFilter,
  range: { afterId: bigint; maxId: bigint; scan: number },
): Promise<SelectionPage> {
  const rows = await prisma.message.findMany({
    where: { AND: [whereOf(filter), { id: { gt: range.afterId, lte: range.maxId } }] },
    orderBy: { id: 'asc' },
    take: range.scan,
    select: selectFields,
  });
  const matches: SelectedMessage[] = [];
  for (const row of rows) {
    const units = unitsOf(row, filter);
    if (units.length > 0)
      matches.push({
        id: row.id,
        key: row.key,
        topic: row.topic,
        deadReason: row.deadReason,
        deadAt: row.deadAt,
        units,
      });
  }
  const last = rows.at(-1);
  return { matches, cursorId: rows.length < range.scan || !last ? null : last.id };
}

/** The selection's last message id now: a redrive never sweeps in messages created after it started. */
export async function currentMaxMessageId(prisma: PrismaClient): Promise<bigint> {
  const { _max } = await prisma.message.aggregate({ _max: { id: true } });
  return _max.id ?? 0n;
}

/** Calls `visit` with every page of the selection, in id order. */
export async function forEachPage(
  prisma: PrismaClient,
  filter: RedriveFilter,
  maxId: bigint,
  visit: (matches: SelectedMessage[]) => void,
  scan = 1000,
): Promise<void> {
  let afterId = 0n;
  for (;;) {
    const page = await selectPage(prisma, filter, { afterId, maxId, scan });
    visit(page.matches);
    if (page.cursorId === null) return;
    afterId = page.cursorId;
  }
}

export interface DryRun {
  matched: number;
  sample: { key: string; topic: string; deadReason: string | null; errorClass: string }[];
  maxMessageId: bigint;
}

/** How many messages a filter selects now, with the first few of them. */
export async function dryRun(prisma: PrismaClient, filter: RedriveFilter, sampleSize = 10): Promise<DryRun> {
  const maxMessageId = await currentMaxMessageId(prisma);
  const result: DryRun = { matched: 0, sample: [], maxMessageId };
  await forEachPage(prisma, filter, maxMessageId, (matches) => {
    result.matched += matches.length;
    for (const m of matches) {
      if (result.sample.length >= sampleSize) break;
      result.sample.push({
        key: m.key,
        topic: m.topic,
        deadReason: m.deadReason,
        errorClass: m.units[0]?.errorClass ?? NO_ERROR,
      });
    }
  });
  return result;
}

export interface DeadGroup {
  reason: string;
  topic: string;
  consumerGroup: string | null;
  errorClass: string;
  /** One raw error of the group, as a person would read it. */
  exampleError: string | null;
  count: number;
  oldestDeadAt: string | null;
  newestDeadAt: string | null;
  sampleKeys: string[];
}

/**
 * DEAD messages grouped by reason, topic, consumer group and error class, biggest group first. A
 * message with several DEAD deliveries counts in each of their groups.
 */
export async function deadGroups(prisma: PrismaClient, filter: RedriveFilter = {}): Promise<DeadGroup[]> {
  const groups = new Map<string, DeadGroup>();
  const maxId = await currentMaxMessageId(prisma);
  await forEachPage(prisma, { ...filter, status: 'DEAD' }, maxId, (matches) => {
    for (const m of matches) {
      const deadAt = m.deadAt?.toISOString() ?? null;
      for (const u of m.units) {
        const id = JSON.stringify([m.deadReason, m.topic, u.group, u.errorClass]);
        const g = groups.get(id) ?? {
          reason: m.deadReason ?? 'UNKNOWN',
          topic: m.topic,
          consumerGroup: u.group,
          errorClass: u.errorClass,
          exampleError: u.error,
          count: 0,
          oldestDeadAt: deadAt,
          newestDeadAt: deadAt,
          sampleKeys: [],
        };
        g.count += 1;
        if (deadAt && (!g.oldestDeadAt || deadAt < g.oldestDeadAt)) g.oldestDeadAt = deadAt;
        if (deadAt && (!g.newestDeadAt || deadAt > g.newestDeadAt)) g.newestDeadAt = deadAt;
        if (g.sampleKeys.length < 5) g.sampleKeys.push(m.key);
        groups.set(id, g);
      }
    }
  });
  return [...groups.values()].sort((a, b) => b.count - a.count);
}
