import { z } from 'zod';
import type { MessageSpec, Timings } from '../workflows/definitions.js';
import { TopicMismatchError, ValidationError } from './errors.js';
import { messageKeySchema, nameSchema, wellFormedString } from './names.js';
import {
  CONTROL_CHARACTER,
  MAX_USER_PROPERTIES,
  MAX_USER_PROPERTY_BYTES,
  ROCKETMQ_MAX_MESSAGE_GROUP_BYTES,
  ROCKETMQ_SYSTEM_PROPERTIES,
} from './rocketmq/limits.js';
import type { TopicInfo } from './rocketmq/topic-catalog.js';
import { timingsOverrideSchema } from './timings.js';

/**
 * The body travels once in the workflow's start input, and Temporal refuses payloads over 2 MB by
 * default (RocketMQ's own limit, 4 MiB, is looser). Measured JSON-encoded, so escapes count.
 */
export const MAX_BODY_BYTES = 1024 * 1024;
/** The projection's delay_ms column is a signed 32-bit INTEGER. */
export const MAX_DELAY_MS = 2 ** 31 - 1;
const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

const propertyName = wellFormedString()
  .regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'must be named with 1-64 of [a-zA-Z0-9_.-]')
  .refine((n) => !n.startsWith('RMSG_'), 'must not be named RMSG_* (the service sets those)')
  .refine((n) => !ROCKETMQ_SYSTEM_PROPERTIES.has(n), 'is a RocketMQ system property; RocketMQ refuses it');

/** RocketMQ drops a property whose value is empty when it publishes: the consumer would never see it. */
const propertyValue = wellFormedString()
  .min(1, 'must not be empty')
  .refine((v) => !CONTROL_CHARACTER.test(v), 'must not contain control characters');

/**
 * A message's own properties, within what RocketMQ takes next to the service's (src/rocketmq/limits.ts).
 * A bad name or value is named as `properties.<name>`.
 */
const propertiesSchema = z
  .record(z.string(), z.string({ error: 'values must be strings' }))
  .superRefine((props, ctx) => {
    const entries = Object.entries(props);
    for (const [name, value] of entries) {
      const bad = propertyName.safeParse(name);
      const badValue = bad.success ? propertyValue.safeParse(value) : bad;
      if (!badValue.success)
        ctx.addIssue({ code: 'custom', path: [name], message: badValue.error.issues[0]?.message ?? '' });
    }
    if (entries.length > MAX_USER_PROPERTIES)
      ctx.addIssue({ code: 'custom', message: `must have at most ${MAX_USER_PROPERTIES} entries` });
    const bytes = entries.reduce((n, [name, value]) => n + utf8Bytes(name) + utf8Bytes(value), 0);
    if (bytes > MAX_USER_PROPERTY_BYTES)
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${MAX_USER_PROPERTY_BYTES} bytes of names and values in all (UTF-8), not ${bytes}`,
      });
  });

export const messageSpecSchema = z
  .object({
    key: messageKeySchema,
    topic: nameSchema,
    tag: wellFormedString()
      .min(1, 'must not be empty')
      .max(191, 'must be at most 191 characters')
      .regex(/^[^|*\s\p{Cc}]+$/u, "must not contain '|', '*', spaces or control characters")
      .optional(),
    body: wellFormedString('is required and must be a string')
      .min(1, 'must not be empty (RocketMQ refuses an empty body)')
      .refine(
        (b) => Buffer.byteLength(JSON.stringify(b), 'utf8') - 2 <= MAX_BODY_BYTES,
        `must be at most ${MAX_BODY_BYTES} bytes once JSON-encoded (Temporal's payload limit)`,
      ),
    properties: propertiesSchema.optional(),
    producerGroup: nameSchema,
    delayMs: z.number().int().positive().max(MAX_DELAY_MS, `must be at most ${MAX_DELAY_MS} ms`).optional(),
    orderKey: wellFormedString()
      .min(1, 'must not be empty')
      .refine((o) => !CONTROL_CHARACTER.test(o) && o.trim() !== '', 'must not be blank or contain control characters')
      .refine(
        (o) => utf8Bytes(o) <= ROCKETMQ_MAX_MESSAGE_GROUP_BYTES,
        `must be at most ${ROCKETMQ_MAX_MESSAGE_GROUP_BYTES} bytes (RocketMQ's message group limit)`,
      )
      .optional(),
    timings: timingsOverrideSchema.optional(),
  })
  .strict()
  .refine((m) => !(m.delayMs && m.orderKey), { message: 'delayMs and orderKey cannot be combined', path: ['delayMs'] });

export type MessageSpecInput = MessageSpec & { timings?: Partial<Timings> };

/** Validates a message spec, throwing a ValidationError naming the first bad field. */
export function parseMessageSpec(input: unknown): MessageSpecInput {
  const parsed = messageSpecSchema.safeParse(input);
  if (!parsed.success) throw toValidationError(parsed.error);
  return parsed.data as MessageSpecInput;
}

/**
 * Checks a valid spec against its topic as RocketMQ has it: the proxy publishes a message only to a
 * topic of its type (delayMs: DELAY, orderKey: FIFO, neither: NORMAL; TRANSACTION needs a half
 * message, which the service does not send), and no further ahead than the timer allows.
 */
export function checkTopicFit(spec: MessageSpec, topic: TopicInfo | 'missing'): void {
  if (topic === 'missing')
    throw new TopicMismatchError(
      'TOPIC_NOT_FOUND',
      'topic',
      `${spec.topic} does not exist in RocketMQ; create it first`,
    );
  const { messageType, maxDelayMs } = topic;
  const on = `${spec.topic} is a ${messageType} topic`;
  if (messageType === 'TRANSACTION')
    throw new TopicMismatchError(
      'TOPIC_TYPE_MISMATCH',
      'topic',
      `${on}; the service publishes to NORMAL, FIFO and DELAY topics only`,
    );
  if ((spec.delayMs !== undefined) !== (messageType === 'DELAY'))
    throw new TopicMismatchError(
      'TOPIC_TYPE_MISMATCH',
      'delayMs',
      `is required on a DELAY topic and refused on any other (${on})`,
    );
  if ((spec.orderKey !== undefined) !== (messageType === 'FIFO'))
    throw new TopicMismatchError(
      'TOPIC_TYPE_MISMATCH',
      'orderKey',
      `is required on a FIFO topic and refused on any other (${on})`,
    );
  if (spec.delayMs !== undefined && spec.delayMs > maxDelayMs)
    throw new ValidationError('delayMs', `must be at most ${maxDelayMs} ms (RocketMQ's maximum delay)`);
}

export function parseMessageKey(key: unknown): string {
  const parsed = messageKeySchema.safeParse(key);
  if (!parsed.success) throw toValidationError(parsed.error, 'key');
  return parsed.data;
}

export function toValidationError(error: z.ZodError, root?: string): ValidationError {
  const issue = error.issues[0];
  const path = [root, ...(issue?.path ?? [])].filter((p) => p !== undefined && p !== '').join('.');
  if (issue?.code === 'unrecognized_keys')
    return new ValidationError(path || 'input', `has unknown field(s): ${issue.keys.join(', ')}`);
  return new ValidationError(path || 'input', issue?.message ?? 'is invalid');
}
