import type { z } from 'zod';
import type { Prisma, PrismaClient } from '../db/prisma.js';
import { ValidationError } from '../errors.js';
import { messageSummary } from './message-view.js';
import type { listQuery, messagePage } from './schemas/messages.js';

/**
 * Pages through the projection newest first (by creation time, then id), which the indexes on
 * (status|topic|producer_group, created_at) serve in order. The cursor is opaque to callers: the last
 * row's creation time and id, base64url. Paging by position, not offset, so messages created meanwhile
 * cause neither duplicates nor gaps.
 */
export async function listMessages(
  prisma: PrismaClient,
  q: z.output<typeof listQuery>,
): Promise<z.output<typeof messagePage>> {
  const after = q.cursor ? decodeCursor(q.cursor) : undefined;
  const where: Prisma.MessageWhereInput = {
    status: q.status,
    topic: q.topic,
    producerGroup: q.producerGroup,
    deliveries: q.consumerGroup ? { some: { consumerGroup: q.consumerGroup } } : undefined,
    AND: [
      q.from ? { createdAt: { gte: new Date(q.from) } } : {},
      q.to ? { createdAt: { lt: new Date(q.to) } } : {},
      after
        ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }
        : {},
    ],
  };
  // One row more than asked tells whether there is a next page.
  const rows = await prisma.message.findMany({
    where,
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: q.limit + 1,
    omit: { body: true },
    include: { deliveries: { orderBy: { consumerGroup: 'asc' } } },
  });
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map(messageSummary),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null,
  };
}

export function encodeCursor(row: { createdAt: Date; id: bigint }): string {
  return Buffer.from(`${row.createdAt.getTime()}.${row.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: Date; id: bigint } {
  const match = /^(\d{1,15})\.([1-9]\d{0,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match?.[1] || !match[2]) throw new ValidationError('cursor', 'must be a nextCursor from a previous page');
  return { createdAt: new Date(Number(match[1])), id: BigInt(match[2]) };
}
