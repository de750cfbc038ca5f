import type { FastifyRequest } from 'fastify';
import { checkBackUrlProblem, redactedUrl } from '../../check-back-url.js';
import { type CheckBackKind, type CheckBackRow, createRegistry } from '../../db/registry.js';
import { ValidationError } from '../../errors.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { type AnyRoute, route } from '../route.js';
import { errors, notFound } from '../schemas/common.js';
import { checkBackBody, checkBackView, groupParams, listOf } from '../schemas/registrations.js';

const groupOf = (r: CheckBackRow) => ('producerGroup' in r ? r.producerGroup : r.consumerGroup);

/**
 * A registration as a caller may see it: never the secret, and the full URL only for operators and
 * the group itself (it may carry internal paths or tokens); others see its scheme and host.
 */
const view = (kind: CheckBackKind, r: CheckBackRow, req: FastifyRequest) => {
  const p = req.principal;
  const own = p?.role === 'operator' || (p?.role === kind && p.group === groupOf(r));
  return viewOf(r, own);
};
const viewOf = (r: CheckBackRow, fullUrl: boolean) => ({
  group: groupOf(r),
  checkBackUrl: r.checkBackUrl && !fullUrl ? redactedUrl(r.checkBackUrl) : r.checkBackUrl,
  signed: r.checkBackSecret !== null,
  checkBackTaskQueue: r.checkBackTaskQueue,
  ...('lastSeenAt' in r ? { lastSeenAt: r.lastSeenAt?.toISOString() ?? null } : {}),
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

/**
 * Producers and consumers with their check-back: an HTTP URL (any language) or the task queue their
 * SDK serves it on. `/v1/producers` and `/v1/consumers` work alike.
 */
export function checkBackRoutes({ prisma, config }: ApiDeps, kind: CheckBackKind): AnyRoute[] {
  const registry = createRegistry(prisma);
  const ownGroup = ({ params }: { params: { group: string } }) => params.group;
  const base = `/v1/${kind}s`;
  const tag = `${kind}s`;
  const missing = (group: string) =>
    new ApiError(404, 'NOT_FOUND', `${kind} group ${group} is not registered`, 'group');
  const asked =
    kind === 'producer'
      ? 'whether the business behind an unconfirmed message happened'
      : 'whether it consumed a message';
  return [
    route({
      method: 'GET',
      path: base,
      access: 'read',
      tag,
      summary: `Registered ${kind} groups`,
      responses: { 200: { description: 'All of them', schema: listOf(checkBackView) }, ...errors },
      handler: async (_input, req) => ({ items: (await registry.listCheckBacks(kind)).map((r) => view(kind, r, req)) }),
    }),
    route({
      method: 'GET',
      path: `${base}/{group}`,
      access: kind === 'producer' ? { read: true, producer: ownGroup } : { read: true, consumer: ownGroup },
      tag,
      summary: `A ${kind} group`,
      params: groupParams,
      responses: { 200: { description: `The ${kind}`, schema: checkBackView }, ...errors, ...notFound },
      handler: async ({ params }, req) => {
        const row = await registry.getCheckBack(kind, params.group);
        if (!row) throw missing(params.group);
        return view(kind, row, req);
      },
    }),
    route({
      method: 'PUT',
      path: `${base}/{group}`,
      access: kind === 'producer' ? { producer: ownGroup } : { consumer: ownGroup },
      tag,
      summary: `Register a ${kind} group and its HTTP check-back URL`,
      description:
        `The service POSTs {key, group, kind, createdAt} to the URL to ask ${asked}, signed with the group's ` +
        'checkBackSecret (see the README). Without a secret one is made and answered once, here.',
      params: groupParams,
      body: checkBackBody,
      responses: {
        201: { description: 'Registered', schema: checkBackView },
        200: { description: 'Updated', schema: checkBackView },
        ...errors,
      },
      handler: async ({ params, body }, _req, reply) => {
        if (body.checkBackUrl) {
          const problem = checkBackUrlProblem(body.checkBackUrl, config.checkBack.allowedHosts);
          if (problem) throw new ValidationError('checkBackUrl', problem);
        }
        const { row, created, madeSecret } = await registry.putCheckBack(kind, params.group, body);
        reply.code(created ? 201 : 200);
        return { ...viewOf(row, true), ...(madeSecret ? { checkBackSecret: madeSecret } : {}) };
      },
    }),
    route({
      method: 'DELETE',
      path: `${base}/{group}`,
      access: kind === 'producer' ? { producer: ownGroup } : { consumer: ownGroup },
      tag,
      summary: `Forget a ${kind} group and its check-back`,
      params: groupParams,
      responses: { 204: { description: 'Removed' }, ...errors, ...notFound },
      handler: async ({ params }, _req, reply) => {
        if (!(await registry.removeCheckBack(kind, params.group))) throw missing(params.group);
        return reply.code(204).send();
      },
    }),
  ];
}
