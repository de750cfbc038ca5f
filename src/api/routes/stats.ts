import { z } from 'zod';
import { MESSAGE_STATUSES } from '../../../workflows/definitions.js';
import type { ApiDeps } from '../deps.js';
import { type AnyRoute, route } from '../route.js';
import { errors } from '../schemas/common.js';

const counts = z.record(z.string(), z.number());
const statsView = z.object({
  messages: z.object({
    total: z.number(),
    byStatus: counts.meta({ description: 'Every status, 0 included' }),
    byTopic: z.record(z.string(), counts).meta({ description: 'topic -> status -> count' }),
  }),
  deliveries: z.object({
    byConsumerGroup: z.record(z.string(), counts).meta({ description: 'consumer group -> delivery status -> count' }),
  }),
  archived: z.number().meta({ description: 'Messages moved to the archive by housekeeping' }),
});

/** Counts for operators: messages by status and by topic, deliveries by consumer group and status. */
export function statsRoutes({ prisma }: ApiDeps): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/v1/stats',
      access: 'read',
      tag: 'operations',
      summary: 'Counts by status, by topic, by consumer group and delivery status',
      responses: { 200: { description: 'Counts', schema: statsView }, ...errors },
      handler: async (): Promise<z.output<typeof statsView>> => {
        const [byStatus, byTopic, byGroup, archived] = await Promise.all([
          prisma.message.groupBy({ by: ['status'], _count: { _all: true } }),
          prisma.message.groupBy({ by: ['topic', 'status'], _count: { _all: true } }),
          prisma.delivery.groupBy({ by: ['consumerGroup', 'status'], _count: { _all: true } }),
          prisma.messageArchive.count(),
        ]);
        const statuses: Record<string, number> = Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0]));
        for (const r of byStatus) statuses[r.status] = r._count._all;
        return {
          messages: {
            total: byStatus.reduce((n, r) => n + r._count._all, 0),
            byStatus: statuses,
            byTopic: nest(byTopic.map((r) => [r.topic, r.status, r._count._all])),
          },
          deliveries: { byConsumerGroup: nest(byGroup.map((r) => [r.consumerGroup, r.status, r._count._all])) },
          archived,
        };
      },
    }),
  ];
}

function nest(rows: [string, string, number][]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [outer, inner, n] of rows) {
    const counts = out[outer] ?? {};
    counts[inner] = n;
    out[outer] = counts;
  }
  return out;
}
