import type { z } from 'zod';
import type { Prisma, PrismaClient } from '../db/prisma.js';
import { ValidationError } from '../errors.js';
import { messageSummary } from './message-view.js';
import type { listQuery, messagePage } from './schemas/messages.js';

/**
 * Pages through the projection newest first. The cursor is opaque to callers (base64 of the last
 * id shown); paging by id, not by offset, so rows written meanwhile cause neither gaps nor duplicates.
 */
export async function listMessages(
  prisma: PrismaClient,
  q: z.output<typeof listQuery>,
): Promise<z.output<typeof messagePage>> {
  const where: Prisma.MessageWhereInput = {
    status: q.status,
    topic: q.topic,
    producerGroup: q.producerGroup,
    deliveries: q.consumerGroup ? { some: { consumerGroup: q.consumerGroup } } : undefined,
    createdAt: q.from || q.to ? { gte: q.from ? new Date(q.from) : undefined, lt: q.to ? new Date(q.to) : undefined } : undefined,
    id: q.cursor ? { lt: decodeCursor(q.cursor) } : undefined,
  };
  // One row more than asked tells whether there is a next page.
  const rows = await prisma.message.findMany({
    where,
    orderBy: { id: 'desc' },
    take: q.limit + 1,
    omit: { body: true },
    include: { deliveries: { orderBy: { consumerGroup: 'asc' } } },
  });
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map(messageSummary),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last.id) : null,
  };
}

export function encodeCursor(id: bigint): string {
  return Buffer.from(id.toString(), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): bigint {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[1-9]\d{0,19}$/.test(id)) throw new ValidationError('cursor', 'must be a nextCursor from a previous page');
  return BigInt(id);
}
