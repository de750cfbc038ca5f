import { z } from 'zod';
import type { MessageSpec, Timings } from '../workflows/definitions.js';
import { ValidationError } from './errors.js';
import { timingsOverrideSchema } from './timings.js';

/**
 * The body travels once in the workflow's start input, and Temporal refuses payloads over 2 MB by
 * default (RocketMQ's own limit, 4 MiB, is looser). Measured JSON-encoded, so escapes count.
 */
export const MAX_BODY_BYTES = 1024 * 1024;
const NAME = /^[a-zA-Z0-9_%|-]{1,127}$/;

export const messageKeySchema = z
  .string({ error: 'is required and must be a string' })
  .min(1, 'must not be empty')
  .max(191, 'must be at most 191 characters')
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export const messageSpecSchema = z
  .object({
    key: messageKeySchema,
    topic: z.string({ error: 'is required and must be a string' }).regex(NAME, 'must be 1-127 of [a-zA-Z0-9_-]'),
    tag: z
      .string()
      .min(1, 'must not be empty')
      .max(191, 'must be at most 191 characters')
      .regex(/^[^|*\s]+$/, "must not contain '|', '*' or spaces")
      .optional(),
    body: z
      .string({ error: 'is required and must be a string' })
      .refine(
        (b) => Buffer.byteLength(JSON.stringify(b), 'utf8') - 2 <= MAX_BODY_BYTES,
        `must be at most ${MAX_BODY_BYTES} bytes once JSON-encoded (Temporal's payload limit)`,
      ),
    properties: z
      .record(z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'names must be 1-64 of [a-zA-Z0-9_.-]'), z.string().max(1024))
      .optional(),
    producerGroup: z
      .string({ error: 'is required and must be a string' })
      .regex(NAME, 'must be 1-127 of [a-zA-Z0-9_-]'),
    delayMs: z
      .number()
      .int()
      .positive()
      .max(40 * 24 * 3600_000, 'must be at most 40 days')
      .optional(),
    orderKey: z.string().min(1).max(191).optional(),
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
