import { z } from 'zod';
import { nameSchema } from '../../names.js';
import { tagExpressionSchema } from '../../tag-expression.js';
import { isoDate, isoDateOrNull } from './common.js';

export const subscriptionParams = z.object({ topic: nameSchema, group: nameSchema });
export const groupParams = z.object({ group: nameSchema });

export const subscriptionListQuery = z
  .object({ topic: nameSchema.optional(), consumerGroup: nameSchema.optional() })
  .strict();

export const subscriptionBody = z
  .object({
    tagExpression: tagExpressionSchema.default('*'),
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
      .meta({
        description:
          'POSTed {key, group, kind, createdAt}, signed; answers exactly COMMIT/ROLLBACK/UNKNOWN as text or JSON {"status"}. ' +
          'No credentials; a host on RMSG_CHECK_BACK_HOSTS; never link-local or cloud metadata',
      }),
    checkBackSecret: z
      .string({ error: 'must be a string' })
      .min(32, 'must be at least 32 characters')
      .max(255, 'must be at most 255 characters')
      .optional()
      .meta({ description: 'Signs the check-back calls (HMAC-SHA256); write-only, never answered' }),
  })
  .strict();

export const checkBackView = z.object({
  group: z.string(),
  checkBackUrl: z
    .string()
    .nullable()
    .meta({ description: 'In full for operators and the group itself; scheme and host only for others' }),
  signed: z.boolean().meta({ description: 'Whether the group has a check-back secret' }),
  checkBackSecret: z
    .string()
    .optional()
    .meta({ description: 'Only once: the secret the service made at registration' }),
  checkBackTaskQueue: z.string().nullable().meta({ description: "Where the group's SDK serves its check-back" }),
  lastSeenAt: isoDateOrNull.optional(),
  createdAt: isoDate,
  updatedAt: isoDate,
});

export const listOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
