import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { type AnyRoute, route } from '../route.js';
import { errors, isoDate } from '../schemas/common.js';

/** The console's files: plain HTML, CSS and one script, no build step. */
const ASSETS = {
  '/console': ['index.html', 'text/html; charset=utf-8'],
  '/console/console.js': ['console.js', 'text/javascript; charset=utf-8'],
  '/console/console.css': ['console.css', 'text/css; charset=utf-8'],
} as const;

const oldest = z.object({ key: z.string(), createdAt: isoDate, topic: z.string() }).nullable();
const overviewView = z.object({
  oldestWaitingConfirm: oldest,
  oldestSending: oldest,
  deadByReason: z.record(z.string(), z.number()),
  lastHour: z
    .array(
      z.object({
        minute: isoDate,
        confirmed: z.number(),
        consumed: z.number(),
        avgLatencyMs: z.number().nullable(),
        maxLatencyMs: z.number().nullable(),
      }),
    )
    .meta({ description: 'Per minute, oldest first: confirms, consumed deliveries, confirm->consumed latency' }),
});

const whoamiView = z.object({
  access: z.enum(['read', 'write']),
  temporalWorkflowsUrl: z.string().meta({ description: "Temporal UI's workflow list; append /{workflowId}" }),
});

const MINUTE = 60_000;

/**
 * The operator console at /console (static; its script calls this API with the token the operator
 * types in, so a read token sees and only the write token acts) and the data only it needs.
 */
export function consoleRoutes({ prisma, config }: ApiDeps): AnyRoute[] {
  const assets = Object.entries(ASSETS).map(([path, [file, type]]) => {
    const body = readFileSync(new URL(`../../console/${file}`, import.meta.url), 'utf8');
    return route({
      method: 'GET',
      path,
      access: 'open',
      tag: 'console',
      summary: `The operator console: ${file}`,
      responses: { 200: { description: file, contentType: type } },
      handler: async (_input, _req, reply) => reply.type(type).header('cache-control', 'no-cache').send(body),
    });
  });
  return [
    ...assets,
    route({
      method: 'GET',
      path: '/v1/whoami',
      access: 'read',
      tag: 'console',
      summary: 'What the presented token may do (read, or write: act), and where Temporal UI is',
      responses: { 200: { description: 'Access', schema: whoamiView }, ...errors },
      handler: async (_input, req) => ({
        access: req.principal?.role === 'operator' ? ('write' as const) : ('read' as const),
        temporalWorkflowsUrl: `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows`,
      }),
    }),
    route({
      method: 'GET',
      path: '/v1/overview',
      access: 'read',
      tag: 'console',
      summary: 'Oldest unfinished messages, DEAD by reason, and the last hour minute by minute',
      responses: { 200: { description: 'Overview', schema: overviewView }, ...errors },
      handler: async (): Promise<z.output<typeof overviewView>> => {
        const now = Date.now();
        const since = new Date(Math.floor((now - 59 * MINUTE) / MINUTE) * MINUTE);
        const first = (status: 'WAITING_CONFIRM' | 'SENDING') =>
          prisma.message.findFirst({
            where: { status },
            orderBy: { createdAt: 'asc' },
            select: { key: true, createdAt: true, topic: true },
          });
        // Rows written in the last hour (the (status, updated_at) index) hold every confirm and
        // consume of the last hour: each of them bumps the row.
        const [waiting, sending, dead, confirmed, consumed] = await Promise.all([
          first('WAITING_CONFIRM'),
          first('SENDING'),
          prisma.message.groupBy({ by: ['deadReason'], where: { status: 'DEAD' }, _count: { _all: true } }),
          prisma.$queryRaw<{ minute: bigint; n: bigint }[]>`
            SELECT FLOOR(UNIX_TIMESTAMP(confirmed_at) / 60) AS minute, COUNT(*) AS n FROM rm_message
            WHERE status IN ('SENDING', 'FINISHED', 'DEAD') AND updated_at >= ${since} AND confirmed_at >= ${since}
            GROUP BY minute`,
          prisma.$queryRaw<{ minute: bigint; n: bigint; avg_ms: number | null; max_ms: number | null }[]>`
            SELECT FLOOR(UNIX_TIMESTAMP(d.consumed_at) / 60) AS minute, COUNT(*) AS n,
                   AVG(TIMESTAMPDIFF(MICROSECOND, m.confirmed_at, d.consumed_at)) / 1000 AS avg_ms,
                   MAX(TIMESTAMPDIFF(MICROSECOND, m.confirmed_at, d.consumed_at)) / 1000 AS max_ms
            FROM rm_message m JOIN rm_delivery d ON d.message_key = m.\`key\`
            WHERE m.status IN ('SENDING', 'FINISHED', 'DEAD') AND m.updated_at >= ${since}
              AND d.consumed_at >= ${since}
            GROUP BY minute`,
        ]);
        const byMinute = (rows: { minute: bigint }[]) => new Map(rows.map((r) => [Number(r.minute), r]));
        const c = byMinute(confirmed);
        const d = byMinute(consumed);
        const lastHour = Array.from({ length: 60 }, (_, i) => {
          const minute = since.getTime() / MINUTE + i;
          const cons = d.get(minute) as (typeof consumed)[number] | undefined;
          return {
            minute: new Date(minute * MINUTE).toISOString(),
            confirmed: Number((c.get(minute) as (typeof confirmed)[number] | undefined)?.n ?? 0),
            consumed: Number(cons?.n ?? 0),
            avgLatencyMs: cons?.avg_ms == null ? null : Math.round(Number(cons.avg_ms)),
            maxLatencyMs: cons?.max_ms == null ? null : Math.round(Number(cons.max_ms)),
          };
        });
        const oldestOf = (m: typeof waiting) =>
          m ? { key: m.key, topic: m.topic, createdAt: m.createdAt.toISOString() } : null;
        return {
          oldestWaitingConfirm: oldestOf(waiting),
          oldestSending: oldestOf(sending),
          deadByReason: Object.fromEntries(dead.map((r) => [r.deadReason ?? 'UNKNOWN', r._count._all])),
          lastHour,
        };
      },
    }),
  ];
}
