import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ApiToken } from '../../db/prisma.js';
import { ValidationError } from '../../errors.js';
import { nameSchema } from '../../names.js';
import { ROLES, tokenHash } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { type AnyRoute, route } from '../route.js';
import { errors, isoDate, isoDateOrNull, notFound } from '../schemas/common.js';
import { listOf } from '../schemas/registrations.js';

const tokenBody = z
  .object({
    role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
    group: nameSchema.optional().meta({ description: 'The producer or consumer group the token acts for' }),
    label: z.string({ error: 'must be a string' }).max(191, 'must be at most 191 characters').optional(),
  })
  .strict();

const tokenView = z.object({
  id: z.string(),
  role: z.enum(ROLES),
  group: z.string().nullable(),
  label: z.string().nullable(),
  createdAt: isoDate,
  lastUsedAt: isoDateOrNull,
  revokedAt: isoDateOrNull,
});
const createdToken = tokenView.extend({
  token: z.string().meta({ description: 'The bearer token, shown only in this answer (only its hash is kept)' }),
});

const view = (t: ApiToken): z.output<typeof tokenView> => ({
  id: t.id,
  role: t.role as z.output<typeof tokenView>['role'],
  group: t.group,
  label: t.label,
  createdAt: t.createdAt.toISOString(),
  lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
  revokedAt: t.revokedAt?.toISOString() ?? null,
});

/** Operators hand out and revoke scoped tokens (`rmsg token create|list|revoke`). */
export function tokenRoutes({ prisma }: ApiDeps): AnyRoute[] {
  return [
    route({
      method: 'POST',
      path: '/v1/tokens',
      access: 'operator',
      tag: 'tokens',
      summary: 'Create a token for a role (and a group for producer and consumer); the token is shown once',
      body: tokenBody,
      responses: { 201: { description: 'Created', schema: createdToken }, ...errors },
      handler: async ({ body }, _req, reply) => {
        const grouped = body.role === 'producer' || body.role === 'consumer';
        if (grouped && !body.group) throw new ValidationError('group', `is required for a ${body.role} token`);
        if (!grouped && body.group) throw new ValidationError('group', `must not be given for a ${body.role} token`);
        const token = `rmsg_${randomBytes(32).toString('base64url')}`;
        const row = await prisma.apiToken.create({
          data: {
            id: `tok_${randomBytes(8).toString('hex')}`,
            tokenHash: tokenHash(token),
            role: body.role,
            group: body.group ?? null,
            label: body.label ?? null,
          },
        });
        reply.code(201);
        return { ...view(row), token };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/tokens',
      access: 'operator',
      tag: 'tokens',
      summary: 'Every token, revoked ones included (never the tokens themselves)',
      responses: { 200: { description: 'All of them', schema: listOf(tokenView) }, ...errors },
      handler: async () => ({
        items: (await prisma.apiToken.findMany({ orderBy: { createdAt: 'asc' } })).map(view),
      }),
    }),
    route({
      method: 'DELETE',
      path: '/v1/tokens/{id}',
      access: 'operator',
      tag: 'tokens',
      summary: 'Revoke a token: it stops working at once. Idempotent',
      params: z.object({ id: z.string().regex(/^tok_[0-9a-f]{16}$/, 'must be a token id (tok_ and 16 hex digits)') }),
      responses: { 204: { description: 'Revoked' }, ...errors, ...notFound },
      handler: async ({ params }, _req, reply) => {
        const { count } = await prisma.apiToken.updateMany({
          where: { id: params.id, revokedAt: null },
          data: { revokedAt: new Date() },
        });
        if (count === 0 && !(await prisma.apiToken.findUnique({ where: { id: params.id } })))
          throw new ApiError(404, 'NOT_FOUND', `token ${params.id} does not exist`, 'id');
        return reply.code(204).send();
      },
    }),
  ];
}
