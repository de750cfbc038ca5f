import { confirmMessage, workflowExists } from '../../client/message-ops.js';
import { startMessage } from '../../client/start-message.js';
import { KeyReusedError, MessageNotFoundError } from '../../errors.js';
import type { MessageSpecInput } from '../../message-spec.js';
import { createTopicCatalog } from '../../rocketmq/topic-catalog.js';
import type { ApiDeps } from '../deps.js';
import { listMessages } from '../message-list.js';
import { existingMessageOwner, messageOwner } from '../message-owner.js';
import { archivedDetail, messageDetail } from '../message-view.js';
import { type AnyRoute, route } from '../route.js';
import { errors, keyParams, notFound, stillOpening } from '../schemas/common.js';
import {
  createMessageBody,
  createMessageResponse,
  listQuery,
  messageDetailView,
  messagePage,
} from '../schemas/messages.js';

/** Prepare or send a message, read one, list them. */
export function messageRoutes({ temporal, prisma, config, log }: ApiDeps): AnyRoute[] {
  const owner = messageOwner({ prisma, temporal });
  const topics = createTopicCatalog({ namesrv: config.rocketmq.namesrv, log });

  /**
   * A key whose message is in MySQL (live or archived) but whose workflow is gone (past Temporal's retention)
   * belongs to an earlier message: refused before anything starts. One key is one message, ever.
   */
  async function refuseReusedKey(key: string): Promise<void> {
    const earlier =
      (await prisma.message.findUnique({ where: { key }, select: { createdAt: true, status: true } })) ??
      (await prisma.messageArchive.findUnique({ where: { key }, select: { createdAt: true, status: true } }));
    if (!earlier || (await workflowExists(temporal, key))) return;
    throw KeyReusedError.ofEarlierMessage(key, earlier);
  }

  return [
    route({
      method: 'POST',
      path: '/v1/messages',
      // A producer sends as its own group, and never touches another group's message by its key.
      access: { producer: async ({ body }) => (await owner(body.key)) ?? body.producerGroup },
      tag: 'messages',
      summary: 'Prepare a message (or send it with confirm: true)',
      description:
        'Idempotent by key: a second call with a key and the same content registers nothing new (201 ' +
        'first, then 200); the key with other content is 409 KEY_CONFLICT. With `confirm: true` the ' +
        'message is confirmed too, also when it already existed.',
      body: createMessageBody,
      responses: {
        201: { description: 'Registered', schema: createMessageResponse },
        200: { description: 'A message with this key already existed', schema: createMessageResponse },
        ...errors,
        ...stillOpening,
        409: {
          description:
            'The key is used by a message with other content (KEY_CONFLICT) or used before and gone ' +
            '(KEY_REUSED), confirm: true for a message already cancelled (INVALID_TRANSITION), or the ' +
            'topic does not exist (TOPIC_NOT_FOUND) or takes other messages (TOPIC_TYPE_MISMATCH)',
          schema: errors[400].schema,
        },
      },
      handler: async ({ body }, _req, reply) => {
        const { confirm = false, ...spec } = body;
        await refuseReusedKey(spec.key);
        const result = await startMessage(
          temporal,
          config.temporal.taskQueue,
          spec as MessageSpecInput,
          confirm,
          topics,
        );
        if (confirm && !result.created) await confirmMessage(temporal, spec.key, 'producer');
        reply.code(result.created ? 201 : 200);
        return { ...result, confirmed: confirm };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/messages/{key}',
      access: { read: true, producer: existingMessageOwner({ prisma, temporal }) },
      tag: 'messages',
      summary: 'A message with its deliveries and events (from the archive once housekept)',
      params: keyParams,
      responses: {
        200: { description: 'The message', schema: messageDetailView },
        ...errors,
        ...notFound,
        ...stillOpening,
      },
      handler: async ({ params }) => {
        const include = {
          deliveries: { orderBy: { consumerGroup: 'asc' } },
          events: { orderBy: { seq: 'asc' } },
        } as const;
        const row = await prisma.message.findUnique({ where: { key: params.key }, include });
        if (row) return messageDetail(row);
        const archived = await prisma.messageArchive.findUnique({ where: { key: params.key } });
        if (archived) return archivedDetail(archived);
        throw new MessageNotFoundError(params.key);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/messages',
      access: 'read',
      tag: 'messages',
      summary: 'Messages newest first, filtered, one page at a time',
      query: listQuery,
      responses: { 200: { description: 'One page', schema: messagePage }, ...errors },
      handler: ({ query }) => listMessages(prisma, query),
    }),
  ];
}
