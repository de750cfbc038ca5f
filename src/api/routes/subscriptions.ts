import type { Subscription } from '../../db/prisma.js';
import { createRegistry } from '../../db/registry.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { type AnyRoute, route } from '../route.js';
import { errors, notFound } from '../schemas/common.js';
import {
  listOf,
  subscriptionBody,
  subscriptionListQuery,
  subscriptionParams,
  subscriptionView,
} from '../schemas/registrations.js';

const view = (s: Subscription) => ({
  topic: s.topic,
  consumerGroup: s.consumerGroup,
  tagExpression: s.tagExpression,
  enabled: s.enabled,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
});

const missing = (topic: string, group: string) =>
  new ApiError(404, 'NOT_FOUND', `group ${group} has no subscription to topic ${topic}`, 'group');

/** Subscriptions (topic, tag expression, consumer group): who counts as a subscriber of new messages. */
export function subscriptionRoutes({ prisma }: ApiDeps): AnyRoute[] {
  const registry = createRegistry(prisma);
  return [
    route({
      method: 'GET',
      path: '/v1/subscriptions',
      access: 'read',
      tag: 'subscriptions',
      summary: 'Subscriptions, optionally of one topic or group',
      query: subscriptionListQuery,
      responses: { 200: { description: 'All matching', schema: listOf(subscriptionView) }, ...errors },
      handler: async ({ query }) => ({
        items: (await registry.listSubscriptions({ topic: query.topic, consumerGroup: query.consumerGroup })).map(view),
      }),
    }),
    route({
      method: 'GET',
      path: '/v1/subscriptions/{topic}/{group}',
      access: { read: true, consumer: ({ params }) => params.group },
      tag: 'subscriptions',
      summary: "A group's subscription to a topic",
      params: subscriptionParams,
      responses: { 200: { description: 'The subscription', schema: subscriptionView }, ...errors, ...notFound },
      handler: async ({ params }) => {
        const row = await registry.getSubscription(params.topic, params.group);
        if (!row) throw missing(params.topic, params.group);
        return view(row);
      },
    }),
    route({
      method: 'PUT',
      path: '/v1/subscriptions/{topic}/{group}',
      access: { consumer: ({ params }) => params.group },
      tag: 'subscriptions',
      summary: 'Create or replace a subscription; messages confirmed from now on count the group',
      params: subscriptionParams,
      body: subscriptionBody,
      responses: {
        201: { description: 'Created', schema: subscriptionView },
        200: { description: 'Replaced', schema: subscriptionView },
        ...errors,
      },
      handler: async ({ params, body }, _req, reply) => {
        const { row, created } = await registry.putSubscription(params.topic, params.group, body);
        reply.code(created ? 201 : 200);
        return view(row);
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/subscriptions/{topic}/{group}',
      access: { consumer: ({ params }) => params.group },
      tag: 'subscriptions',
      summary: 'Remove a subscription (messages already confirmed keep their subscribers)',
      params: subscriptionParams,
      responses: { 204: { description: 'Removed' }, ...errors, ...notFound },
      handler: async ({ params }, _req, reply) => {
        if (!(await registry.removeSubscription(params.topic, params.group))) throw missing(params.topic, params.group);
        return reply.code(204).send();
      },
    }),
  ];
}
