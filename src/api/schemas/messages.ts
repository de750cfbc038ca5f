import { z } from 'zod';
import { MESSAGE_STATUSES } from '../../../workflows/definitions.js';
import { messageSpecSchema } from '../../message-spec.js';
import { nameSchema } from '../../names.js';
import { isoDate, isoDateOrNull } from './common.js';

/** POST /v1/messages: the SDK's message spec with the producer group, and `confirm` for a send. */
export const createMessageBody = messageSpecSchema.safeExtend({
  confirm: z.boolean({ error: 'must be true or false' }).optional().meta({
    description: 'true: the business already happened; publish at once (send). Default: prepare only',
  }),
});

export const createMessageResponse = z.object({
  key: z.string(),
  workflowId: z.string(),
  created: z.boolean().meta({ description: 'false: a message with this key existed; nothing new was registered' }),
  confirmed: z.boolean(),
});

/** Who asks, for the audit trail: the producer (default, as the SDK) or an operator. */
const actor = z
  .enum(['producer', 'operator'], { error: 'must be producer or operator' })
  .optional()
  .meta({ description: 'Recorded in the event; default producer' });

export const confirmBody = z.object({ by: actor }).strict();

export const cancelBody = z
  .object({ reason: z.string().max(500, 'must be at most 500 characters').optional(), by: actor })
  .strict();

export const ackBody = z
  .object({
    group: nameSchema,
    status: z.enum(['RECEIVED', 'CONSUMED', 'FAILED'], { error: 'must be RECEIVED, CONSUMED or FAILED' }),
    error: z.string().max(2000, 'must be at most 2000 characters').optional(),
  })
  .strict();

export const ackResponse = z.object({
  accepted: z
    .boolean()
    .meta({ description: 'false: the message is closed (its state is final); the ack changes nothing' }),
  status: z.enum(MESSAGE_STATUSES).optional(),
});

export const messageStatusSchema = z.enum(MESSAGE_STATUSES, {
  error: `must be one of ${MESSAGE_STATUSES.join(', ')}`,
});

export const MAX_PAGE = 500;

export const listQuery = z
  .object({
    status: messageStatusSchema.optional(),
    topic: nameSchema.optional(),
    producerGroup: nameSchema.optional(),
    consumerGroup: nameSchema.optional().meta({ description: 'Messages with a delivery to this group' }),
    from: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional().meta({
      description: 'Created at or after (inclusive)',
    }),
    to: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional().meta({
      description: 'Created before (exclusive)',
    }),
    limit: z.coerce
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(MAX_PAGE, `must be at most ${MAX_PAGE}`)
      .default(50),
    cursor: z.string().max(64, 'must be a nextCursor from a previous page').optional().meta({
      description: 'The nextCursor of the previous page',
    }),
  })
  .strict();

/** The state the workflow answers (confirm, cancel, resend); see MessageState in workflows/definitions.ts. */
export const messageStateSchema = z.looseObject({
  key: z.string(),
  topic: z.string(),
  producerGroup: z.string(),
  status: z.enum(MESSAGE_STATUSES),
  sendCount: z.number(),
  checkBackCount: z.number(),
  deliveries: z.array(z.looseObject({ group: z.string(), status: z.string() })),
  version: z.number(),
});

export const deliveryView = z.object({
  consumerGroup: z.string(),
  status: z.enum(['PENDING', 'RECEIVED', 'CONSUMED', 'DEAD']),
  sendCount: z.number(),
  receiveCount: z.number(),
  lastError: z.string().nullable(),
  lastSentAt: isoDateOrNull,
  receivedAt: isoDateOrNull,
  consumedAt: isoDateOrNull,
  deadAt: isoDateOrNull,
});

export const eventView = z.object({
  seq: z.number(),
  type: z.string().meta({ description: 'PREPARED, CONFIRMED, SUBSCRIBERS, PUBLISHED, RECEIVED, CONSUMED, ...' }),
  consumerGroup: z.string().nullable(),
  detail: z.unknown(),
  createdAt: isoDate,
});

const messageFields = {
  key: z.string(),
  topic: z.string(),
  tag: z.string().nullable(),
  properties: z.record(z.string(), z.string()).nullable(),
  producerGroup: z.string(),
  status: z.enum(MESSAGE_STATUSES),
  deadReason: z.string().nullable(),
  cancelReason: z.string().nullable(),
  orderKey: z.string().nullable(),
  delayMs: z.number().nullable(),
  timings: z.record(z.string(), z.number()),
  sendCount: z.number(),
  checkBackCount: z.number(),
  lastError: z.string().nullable(),
  workflowId: z.string(),
  version: z.number(),
  createdAt: isoDate,
  updatedAt: isoDate,
  confirmedAt: isoDateOrNull,
  publishedAt: isoDateOrNull,
  finishedAt: isoDateOrNull,
  cancelledAt: isoDateOrNull,
  deadAt: isoDateOrNull,
  deliveries: z.array(deliveryView),
};

export const messageSummaryView = z.object(messageFields);

export const messageDetailView = z.object({
  ...messageFields,
  body: z.string(),
  events: z.array(eventView),
  archivedAt: isoDateOrNull.meta({ description: 'Set when the message was read from the archive' }),
});

export const messagePage = z.object({
  items: z.array(messageSummaryView).meta({ description: 'Newest first, without bodies' }),
  nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last' }),
});
