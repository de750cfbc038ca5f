import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import {
  REDRIVE_WORKFLOW,
  type RedriveFilter,
  type RedriveInput,
  workflowIdForRedrive,
} from '../../../workflows/operator-definitions.js';
import type { redriveWorkflow } from '../../../workflows/redrive.js';
import type { Redrive } from '../../db/prisma.js';
import { ValidationError } from '../../errors.js';
import { deadGroups, dryRun } from '../../operators/selection.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { type AnyRoute, route } from '../route.js';
import { errors } from '../schemas/common.js';
import {
  createRedriveBody,
  deadGroupQuery,
  deadGroupView,
  dryRunView,
  listLimit,
  redriveParams,
  redriveView,
} from '../schemas/operators.js';

const view = (r: Redrive): z.output<typeof redriveView> => ({
  id: r.id,
  requestedBy: r.requestedBy,
  action: r.action as z.output<typeof redriveView>['action'],
  filter: r.filter as RedriveFilter,
  ratePerSecond: r.ratePerSecond,
  status: r.status as z.output<typeof redriveView>['status'],
  total: r.total,
  done: r.done,
  skipped: r.skipped,
  failed: r.failed,
  lastError: r.lastError,
  workflowId: r.workflowId,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
  finishedAt: r.finishedAt?.toISOString() ?? null,
});

/** DEAD triage and bulk redrive: the selection, its dry run, and redrives with their progress. */
export function redriveRoutes({ prisma, temporal, config }: ApiDeps): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/v1/dead-groups',
      access: 'read',
      tag: 'operators',
      summary: 'DEAD messages grouped by reason, topic, consumer group and error class, biggest first',
      query: deadGroupQuery,
      responses: {
        200: { description: 'The groups', schema: deadGroupView.array().meta({ description: 'Biggest first' }) },
        ...errors,
      },
      handler: ({ query }) => deadGroups(prisma, query),
    }),
    route({
      method: 'POST',
      path: '/v1/redrives',
      access: 'operator',
      tag: 'operators',
      summary: 'Redrive a selection (default: resend every DEAD message), or dry-run it',
      description:
        'The selection is fixed at the newest message id when the redrive is created. A Temporal ' +
        'workflow pages through it at `ratePerSecond`, writing its progress; it carries on after restarts.',
      body: createRedriveBody,
      responses: {
        200: { description: 'Dry run: what would be redriven', schema: dryRunView },
        202: { description: 'Started; poll GET /v1/redrives/{id} for progress', schema: redriveView },
        ...errors,
      },
      handler: async ({ body }, _req, reply) => {
        const { redriveRate, redriveMaxRate, redrivePageSize } = config.operators;
        const ratePerSecond = body.ratePerSecond ?? Math.min(redriveRate, redriveMaxRate);
        if (ratePerSecond > redriveMaxRate)
          throw new ValidationError('ratePerSecond', `must be at most ${redriveMaxRate} (RMSG_REDRIVE_MAX_RATE)`);
        const filter: RedriveFilter = { status: 'DEAD', ...body.filter };
        const selection = await dryRun(prisma, filter);
        if (body.dryRun) {
          reply.code(200);
          return { dryRun: true, matched: selection.matched, sample: selection.sample };
        }
        const id = `rd-${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}-${randomUUID().slice(0, 8)}`;
        const workflowId = workflowIdForRedrive(id);
        const row = await prisma.redrive.create({
          data: {
            id,
            requestedBy: body.requestedBy,
            action: body.action,
            filter: { ...filter },
            ratePerSecond,
            status: 'RUNNING',
            total: selection.matched,
            maxMessageId: selection.maxMessageId,
            workflowId,
          },
        });
        const input: RedriveInput = {
          redriveId: id,
          filter,
          action: body.action,
          ratePerSecond,
          maxMessageId: selection.maxMessageId.toString(),
          pageSize: redrivePageSize,
        };
        await temporal.workflow.start<typeof redriveWorkflow>(REDRIVE_WORKFLOW, {
          workflowId,
          taskQueue: config.temporal.taskQueue,
          args: [input],
          staticSummary: `${body.action} ${selection.matched} messages for ${body.requestedBy}`,
        });
        reply.code(202);
        return view(row);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/redrives',
      access: 'read',
      tag: 'operators',
      summary: 'Recent redrives, newest first: the audit record of who redrove what, and how far each got',
      query: listLimit,
      responses: { 200: { description: 'Newest first', schema: redriveView.array() }, ...errors },
      handler: async ({ query }) =>
        (await prisma.redrive.findMany({ orderBy: { createdAt: 'desc' }, take: query.limit })).map(view),
    }),
    route({
      method: 'GET',
      path: '/v1/redrives/{id}',
      access: 'read',
      tag: 'operators',
      summary: 'One redrive with its progress',
      params: redriveParams,
      responses: {
        200: { description: 'The redrive', schema: redriveView },
        ...errors,
        404: { description: 'No such redrive', schema: errors[400].schema },
      },
      handler: async ({ params }) => {
        const row = await prisma.redrive.findUnique({ where: { id: params.id } });
        if (!row) throw new ApiError(404, 'NOT_FOUND', `redrive ${params.id} does not exist`, 'id');
        return view(row);
      },
    }),
  ];
}
