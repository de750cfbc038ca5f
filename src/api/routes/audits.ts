import { randomUUID } from 'node:crypto';
import type { auditWorkflow } from '../../../workflows/audit.js';
import { AUDIT_WORKFLOW, type AuditInput } from '../../../workflows/operator-definitions.js';
import { ValidationError } from '../../errors.js';
import type { ApiDeps } from '../deps.js';
import { type AnyRoute, route } from '../route.js';
import { errors } from '../schemas/common.js';
import { auditReportView, createAuditBody, listLimit } from '../schemas/operators.js';

const DAY_MS = 24 * 60 * 60_000;

/** The projection audit: run one (and wait for its report), or read recent ones. */
export function auditRoutes({ prisma, temporal, config }: ApiDeps): AnyRoute[] {
  return [
    route({
      method: 'POST',
      path: '/v1/audits',
      access: 'operator',
      tag: 'operators',
      summary: 'Audit the projections of messages created in a range against Temporal; optionally repair',
      description:
        'Runs the audit workflow on the service worker and answers its report: stuck messages, ' +
        'projections that disagree with their workflow, workflows without rows and rows without ' +
        'workflows. With `repair: true`, diverged and missing projections are re-synced from the ' +
        "workflow's state. Write access: it records the run, and may repair.",
      body: createAuditBody,
      responses: { 200: { description: 'The report', schema: auditReportView }, ...errors },
      handler: async ({ body }) => {
        const to = body.to ? Date.parse(body.to) : Date.now();
        const from = body.from ? Date.parse(body.from) : to - DAY_MS;
        if (from >= to) throw new ValidationError('from', 'must be before to');
        const input: AuditInput = { from, to, repair: body.repair, triggeredBy: 'operator' };
        return temporal.workflow.execute<typeof auditWorkflow>(AUDIT_WORKFLOW, {
          workflowId: `rmsg-audit:operator:${randomUUID()}`,
          taskQueue: config.temporal.taskQueue,
          args: [input],
        });
      },
    }),
    route({
      method: 'GET',
      path: '/v1/audits',
      access: 'read',
      tag: 'operators',
      summary: 'Recent audit runs (operator and schedule), newest first',
      query: listLimit,
      responses: { 200: { description: 'Newest first', schema: auditReportView.array() }, ...errors },
      handler: async ({ query }) => {
        const runs = await prisma.auditRun.findMany({ orderBy: { startedAt: 'desc' }, take: query.limit });
        return runs.map((r) => {
          const { checked, ...findings } = r.findings as { checked: number } & Record<string, unknown>;
          return {
            id: r.id.toString(),
            from: r.rangeFrom.toISOString(),
            to: r.rangeTo.toISOString(),
            repair: r.repair,
            triggeredBy: r.triggeredBy,
            checked,
            findings,
            startedAt: r.startedAt.toISOString(),
            finishedAt: r.finishedAt.toISOString(),
          };
        });
      },
    }),
  ];
}
