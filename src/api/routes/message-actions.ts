import type { FastifyRequest } from 'fastify';
import { ackMessage, cancelMessage, confirmMessage, resendMessage } from '../../client/message-ops.js';
import { repairMessage } from '../../message-repair.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { existingMessageOwner } from '../message-owner.js';
import { type AnyRoute, type ResponseSpec, route } from '../route.js';
import { errorSchema, errors, keyParams, notFound, stillOpening } from '../schemas/common.js';
import { ackBody, ackResponse, cancelBody, confirmBody, messageStateSchema } from '../schemas/messages.js';

const transition = (what: string): Record<number, ResponseSpec> => ({
  200: { description: `The message's state after ${what}`, schema: messageStateSchema },
  ...errors,
  ...notFound,
  ...stillOpening,
  409: { description: `The message's state does not allow ${what} (INVALID_TRANSITION)`, schema: errorSchema },
});

/**
 * Confirm, cancel, resend and acks: any-language producers and consumers, and operators. Confirm and
 * cancel are recorded as the producer's (like the SDK's) unless the body says `by: "operator"`.
 */
export function messageActionRoutes({ temporal, prisma, config }: ApiDeps): AnyRoute[] {
  const owner = existingMessageOwner({ prisma, temporal });
  /** Only an operator may record a confirm or cancel as the operator's. */
  const actor = (req: FastifyRequest, by: 'producer' | 'operator' | undefined) => {
    if (by === 'operator' && req.principal?.role !== 'operator')
      throw new ApiError(403, 'OPERATOR_RIGHT_REQUIRED', 'by: "operator" needs the operator right', 'by');
    return by ?? 'producer';
  };
  return [
    route({
      method: 'POST',
      path: '/v1/messages/{key}/confirm',
      access: { producer: owner },
      tag: 'messages',
      summary: 'Confirm: the business happened; publish. Idempotent; 409 after cancel',
      params: keyParams,
      body: confirmBody,
      responses: transition('confirm'),
      handler: ({ params, body }, req) => confirmMessage(temporal, params.key, actor(req, body.by)),
    }),
    route({
      method: 'POST',
      path: '/v1/messages/{key}/cancel',
      access: { producer: owner },
      tag: 'messages',
      summary: 'Cancel: the business did not happen; never publish. Idempotent; 409 once confirmed',
      params: keyParams,
      body: cancelBody,
      responses: transition('cancel'),
      handler: ({ params, body }, req) => cancelMessage(temporal, params.key, actor(req, body.by), body.reason),
    }),
    route({
      method: 'POST',
      path: '/v1/messages/{key}/resend',
      access: 'operator',
      tag: 'messages',
      summary: 'Operator resend: a DEAD message gets a fresh send budget; a SENDING one is resent now',
      params: keyParams,
      responses: transition('resend'),
      handler: ({ params }) => resendMessage(temporal, params.key),
    }),
    route({
      method: 'POST',
      path: '/v1/messages/{key}/repair',
      access: 'operator',
      tag: 'messages',
      summary: "Operator repair: end a stuck run and start a fresh one from the message's projection",
      description:
        'For a message whose workflow fails on every task (for instance a history the deployed code cannot ' +
        'replay). The fresh run resends at once to the groups not shown as consumed, with a fresh send budget, ' +
        'and asks the producer at once if the message still waits for its confirm. 409 for a FINISHED or ' +
        'CANCELLED message.',
      params: keyParams,
      responses: transition('repair'),
      handler: ({ params }) => repairMessage({ temporal, prisma, taskQueue: config.temporal.taskQueue }, params.key),
    }),
    route({
      method: 'POST',
      path: '/v1/messages/{key}/acks',
      access: { consumer: ({ body }) => body.group },
      tag: 'messages',
      summary: "A consumer group's report: RECEIVED, CONSUMED or FAILED (with its error)",
      params: keyParams,
      body: ackBody,
      responses: {
        202: { description: 'Passed to the message', schema: ackResponse },
        200: { description: 'The message is closed; the ack changes nothing', schema: ackResponse },
        ...errors,
        ...notFound,
        ...stillOpening,
        409: {
          description: 'The group is not a subscriber of the message, or it is not published yet (NOT_A_SUBSCRIBER)',
          schema: errorSchema,
        },
      },
      handler: async ({ params, body }, _req, reply) => {
        const { accepted, status } = await ackMessage(temporal, params.key, body);
        // A closed message's state is final: the ack changes nothing.
        if (!accepted) return { accepted, status };
        reply.code(202);
        return { accepted };
      },
    }),
  ];
}
