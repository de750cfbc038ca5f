import { z } from 'zod';
import { toValidationError } from './message-spec.js';
import { nameSchema } from './names.js';

/**
 * How the SDKs check their options (src/client/options.ts, src/consumer/options.ts): by zod schemas
 * made of these shared rules, before anything connects; the first bad field is a ValidationError
 * naming it and its rule, so the producer and the consumer refuse a bad value alike.
 */
export function parseSdkOptions<S extends z.ZodType>(schema: S, options: unknown): z.output<S> {
  const parsed = schema.safeParse(options);
  if (!parsed.success) throw toValidationError(parsed.error);
  return parsed.data;
}

export const positiveInt = z.number().int('must be a positive integer').positive('must be a positive integer');
export const milliseconds = z.number().positive('must be a positive number of milliseconds');
/** A topic or group name: given, then the one name rule (src/names.ts). */
export const nameOption = z
  .string({ error: 'is required and must be a string' })
  .trim()
  .min(1, 'must not be empty')
  .pipe(nameSchema);
/** A connection setting given in code instead of the environment. */
export const endpointOverride = z.string().min(1, 'must not be empty').optional();
