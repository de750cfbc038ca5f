import { z } from 'zod';
import { registry, setMessageCounts } from '../../metrics.js';
import type { ApiDeps } from '../deps.js';
import { checkHealth } from '../health.js';
import { type AnyRoute, route } from '../route.js';
import { errors } from '../schemas/common.js';

const part = z.object({ status: z.enum(['up', 'down']), ms: z.number(), error: z.string().optional() });
const healthView = z.object({
  status: z.enum(['ok', 'failing']),
  checks: z.object({ temporal: part, rocketmq: part, mysql: part }),
});

/** Health and Prometheus metrics. */
export function operationRoutes(deps: ApiDeps): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/healthz',
      access: 'open',
      tag: 'operations',
      summary: 'Checks Temporal, RocketMQ and MySQL for real; 503 if any is down',
      description: 'The reason a part is down is given to callers with a valid token only.',
      responses: {
        200: { description: 'Everything answers', schema: healthView },
        503: { description: 'Something is down; see checks', schema: healthView },
      },
      handler: async (_input, req, reply) => {
        const checks = await checkHealth(deps);
        const ok = Object.values(checks).every((c) => c.status === 'up');
        reply.code(ok ? 200 : 503);
        // Dependency errors name hosts, ports and users: not for anonymous callers.
        if (!req.principal) for (const c of Object.values(checks)) delete c.error;
        return { status: ok ? 'ok' : 'failing', checks };
      },
    }),
    route({
      method: 'GET',
      path: '/metrics',
      access: 'read',
      tag: 'operations',
      summary: 'Prometheus metrics (rmsg_messages counted in MySQL at scrape time)',
      responses: { 200: { description: 'Prometheus text format', contentType: registry.contentType }, ...errors },
      handler: async (_input, _req, reply) => {
        const rows = await deps.prisma.message.groupBy({ by: ['status'], _count: { _all: true } });
        setMessageCounts(Object.fromEntries(rows.map((r) => [r.status, r._count._all])));
        return reply.type(registry.contentType).send(await registry.metrics());
      },
    }),
  ];
}
