import { z } from 'zod';
import { AUDIT_FINDINGS, REDRIVE_ACTIONS } from '../../../workflows/operator-definitions.js';
import { nameSchema } from '../../names.js';
import { isoDate, isoDateOrNull } from './common.js';
import { messageStatusSchema } from './messages.js';

const isoDateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' });

/** The selection of a redrive, a dry run or DEAD triage; every field narrows it. */
export const redriveFilter = z
  .object({
    status: messageStatusSchema.optional().meta({ description: 'Default DEAD' }),
    reason: z
      .enum(['UNCONFIRMED', 'UNCONSUMED', 'REJECTED', 'KEY_REUSED'], {
        error: 'must be UNCONFIRMED, UNCONSUMED, REJECTED or KEY_REUSED',
      })
      .optional()
      .meta({ description: "The message's deadReason" }),
    topic: nameSchema.optional(),
    consumerGroup: nameSchema.optional().meta({ description: 'Messages with a (DEAD, for DEAD ones) delivery to it' }),
    from: isoDateTime.optional().meta({ description: 'Created at or after (inclusive)' }),
    to: isoDateTime.optional().meta({ description: 'Created before (exclusive)' }),
    errorClass: z
      .string({ error: 'must be a string' })
      .min(1, 'must not be empty')
      .max(200, 'must be at most 200 characters')
      .optional()
      .meta({ description: 'A normalised lastError, as DEAD triage shows it' }),
  })
  .strict();

export const createRedriveBody = z
  .object({
    filter: redriveFilter.default({}),
    action: z
      .enum(REDRIVE_ACTIONS, { error: `must be one of ${REDRIVE_ACTIONS.join(', ')}` })
      .default('resend')
      .meta({ description: 'resend (DEAD UNCONSUMED, SENDING), confirm or cancel (unconfirmed ones)' }),
    ratePerSecond: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .optional()
      .meta({ description: 'Actions per second; default and maximum come from the configuration' }),
    dryRun: z.boolean({ error: 'must be true or false' }).default(false).meta({
      description: 'true: only count the selection and show a sample; nothing is written',
    }),
    requestedBy: z
      .string({ error: 'is required and must be a string' })
      .regex(/^[\w.@ -]{1,64}$/, 'must be 1-64 letters, digits, spaces or _.@-')
      .meta({ description: 'Who asks, for the audit record' }),
  })
  .strict();

export const dryRunView = z.object({
  dryRun: z.literal(true),
  matched: z.number(),
  sample: z.array(
    z.object({ key: z.string(), topic: z.string(), deadReason: z.string().nullable(), errorClass: z.string() }),
  ),
});

export const redriveView = z.object({
  id: z.string(),
  requestedBy: z.string(),
  action: z.enum(REDRIVE_ACTIONS),
  filter: redriveFilter,
  ratePerSecond: z.number(),
  status: z.enum(['RUNNING', 'COMPLETED']),
  total: z.number().meta({ description: 'Messages the selection matched when the redrive was created' }),
  done: z.number(),
  skipped: z.number().meta({ description: 'No longer matching, or their state refused the action' }),
  failed: z.number(),
  lastError: z.string().nullable(),
  workflowId: z.string(),
  createdAt: isoDate,
  updatedAt: isoDate,
  finishedAt: isoDateOrNull,
});

export const redriveParams = z.object({
  id: z.string().regex(/^rd-[\w-]{1,60}$/, 'must be a redrive id (rd-...)'),
});

export const listLimit = z
  .object({
    limit: z.coerce
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(200, 'must be at most 200')
      .default(20),
  })
  .strict();

export const deadGroupView = z.object({
  reason: z.string(),
  topic: z.string(),
  consumerGroup: z.string().nullable(),
  errorClass: z.string(),
  exampleError: z.string().nullable(),
  count: z.number(),
  oldestDeadAt: isoDateOrNull,
  newestDeadAt: isoDateOrNull,
  sampleKeys: z.array(z.string()),
});

export const deadGroupQuery = redriveFilter.omit({ status: true, errorClass: true });

const findingView = z.object({ count: z.number(), sample: z.array(z.string()), repaired: z.number() });

export const auditReportView = z.object({
  id: z.string(),
  from: isoDate,
  to: isoDate,
  repair: z.boolean(),
  triggeredBy: z.enum(['operator', 'schedule']),
  checked: z.number(),
  findings: z.object(
    Object.fromEntries(AUDIT_FINDINGS.map((k) => [k, findingView])) as Record<
      (typeof AUDIT_FINDINGS)[number],
      typeof findingView
    >,
  ),
  startedAt: isoDate,
  finishedAt: isoDate,
});

export const createAuditBody = z
  .object({
    from: isoDateTime.optional().meta({ description: 'Messages created at or after; default 24 hours before `to`' }),
    to: isoDateTime.optional().meta({ description: 'Messages created before; default now' }),
    repair: z.boolean({ error: 'must be true or false' }).default(false).meta({
      description: 'Re-sync diverged and missing projections from their workflow',
    }),
  })
  .strict();
