import { z } from 'zod';
import { nameSchema } from '../../names.js';
import { isoDate, isoDateOrNull } from './common.js';

export const subscriptionParams = z.object({ topic: nameSchema, group: nameSchema });
export const groupParams = z.object({ group: nameSchema });

export const subscriptionListQuery = z
  .object({ topic: nameSchema.optional(), consumerGroup: nameSchema.optional() })
  .strict();

export const subscriptionBody = z
  .object({
    tagExpression: z
      .string({ error: 'must be a string' })
      .max(512, 'must be at most 512 characters')
      .regex(/^\s*(\*|[^|*\s]+(\s*\|\|\s*[^|*\s]+)*)?\s*$/, "must be '*' or tags joined by '||'")
      .default('*'),
    enabled: z.boolean({ error: 'must be true or false' }).default(true),
  })
  .strict();

export const subscriptionView = z.object({
  topic: z.string(),
  consumerGroup: z.string(),
  tagExpression: z.string(),
  enabled: z.boolean(),
  createdAt: isoDate,
  updatedAt: isoDate,
});

export const checkBackBody = z
  .object({
    checkBackUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .max(1024, 'must be at most 1024 characters')
      .nullable()
      .optional()
      .meta({ description: 'POSTed {key, group, kind}; answers COMMIT/ROLLBACK/UNKNOWN as text or JSON {status}' }),
  })
  .strict();

export const checkBackView = z.object({
  group: z.string(),
  checkBackUrl: z.string().nullable(),
  checkBackTaskQueue: z.string().nullable().meta({ description: "Where the group's SDK serves its check-back" }),
  lastSeenAt: isoDateOrNull.optional(),
  createdAt: isoDate,
  updatedAt: isoDate,
});

export const listOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
