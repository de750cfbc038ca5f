import { z } from 'zod';

/**
 * All configuration in one validated place. Every value has a default that works with the local
 * stack (`scripts/stack.sh up`); environment variables override them.
 */
const duration = z.coerce.number().int().nonnegative();

export const timingsSchema = z.object({
  /** Wait this long for confirm/cancel before the first check-back to the producer. */
  checkBackAfterMs: duration.default(30_000),
  checkBackBackoff: z.coerce.number().min(1).default(2),
  maxCheckBackIntervalMs: duration.default(10 * 60_000),
  /** Unconfirmed past this -> DEAD (UNCONFIRMED). */
  confirmDeadlineMs: duration.default(24 * 60 * 60_000),
  /** First resend to groups that have not consumed. */
  resendAfterMs: duration.default(60_000),
  resendBackoff: z.coerce.number().min(1).default(2),
  maxResendIntervalMs: duration.default(30 * 60_000),
  maxSends: z.coerce.number().int().min(1).default(8),
  checkBackTimeoutMs: duration.default(10_000),
});
export type Timings = z.infer<typeof timingsSchema>;

const configSchema = z.object({
  databaseUrl: z.string().url().default('mysql://rmsg:rmsg@127.0.0.1:3306/reliable_message'),
  temporal: z
    .object({
      address: z.string().default('127.0.0.1:7233'),
      namespace: z.string().default('default'),
      taskQueue: z.string().default('reliable-message'),
      uiUrl: z.string().url().default('http://127.0.0.1:8233'),
    })
    .prefault({}),
  rocketmq: z
    .object({
      /** The proxy's gRPC endpoint, used by rocketmq-client-nodejs. */
      endpoints: z.string().default('127.0.0.1:8081'),
      namesrv: z.string().default('127.0.0.1:9876'),
      /** Broker remoting address, used to create topics. */
      brokerAddr: z.string().default('127.0.0.1:10911'),
    })
    .prefault({}),
  timings: timingsSchema.prefault({}),
  /** Archiving of old FINISHED/CANCELLED messages by the `rmsg-housekeeping` Temporal Schedule. */
  housekeeping: z
    .object({
      /** Final messages older than this are moved into rm_message_archive. */
      retentionMs: duration.default(7 * 24 * 60 * 60_000),
      /** Messages moved per transaction: bounds lock time and transaction size. */
      archiveBatch: z.coerce.number().int().min(1).default(500),
      /** When the schedule runs (cron, UTC). */
      cron: z.string().min(1).default('0 3 * * *'),
    })
    .prefault({}),
  /** Operator tools (issue 14): bulk redrive and the projection audit with its `rmsg-audit` Schedule. */
  operators: z
    .object({
      /** Actions per second of a redrive that does not ask for another rate. */
      redriveRate: z.coerce.number().int().min(1).default(20),
      /** The highest rate a redrive may ask for: bounds the update load on Temporal. */
      redriveMaxRate: z.coerce.number().int().min(1).default(200),
      /** Messages per redrive activity call (one progress write each). */
      redrivePageSize: z.coerce.number().int().min(1).max(1000).default(100),
      /** When the audit schedule runs (cron, UTC). */
      auditCron: z.string().min(1).default('30 3 * * *'),
      /** The scheduled audit looks at messages created this long before its start. */
      auditWindowMs: duration.default(7 * 24 * 60 * 60_000),
      /** Whether the scheduled audit repairs what it safely can (re-sync from the workflow). */
      auditRepair: z
        .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], {
          error: 'must be true or false',
        })
        .default(false),
      /** Rows and workflows changed this recently are left out: their write may still be on its way. */
      auditSettleMs: duration.default(10_000),
    })
    .prefault({}),
  /** Temporal worker tuning (see `npm run bench`); unset values keep the SDK's defaults. */
  worker: z
    .object({
      /** Workflows kept in memory between tasks; bounds the worker's RSS (an evicted one replays). */
      maxCachedWorkflows: z.coerce.number().int().nonnegative().optional(),
      maxConcurrentWorkflowTaskExecutions: z.coerce.number().int().min(2).optional(),
      maxConcurrentLocalActivityExecutions: z.coerce.number().int().positive().optional(),
      maxConcurrentActivityTaskExecutions: z.coerce.number().int().positive().optional(),
      maxConcurrentWorkflowTaskPolls: z.coerce.number().int().positive().optional(),
      /** Threads running workflow code. */
      workflowThreadPoolSize: z.coerce.number().int().positive().optional(),
    })
    .prefault({}),
  /** The HTTP API (`rmsg api`, `rmsg start`). */
  api: z
    .object({
      /** Without a token the API refuses any host but loopback. */
      host: z.string().min(1).default('127.0.0.1'),
      port: z.coerce.number().int().min(0).max(65535).default(8090),
      /** Bearer token for the read routes. */
      readToken: z.string().min(16).optional(),
      /** Bearer token for every route (writes and reads). */
      writeToken: z.string().min(16).optional(),
    })
    .prefault({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type Config = z.infer<typeof configSchema>;

/** Reads the environment (RMSG_*, TEMPORAL_*, ROCKETMQ_*) into a validated Config. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const fromEnv = {
    databaseUrl: env.RMSG_DATABASE_URL,
    temporal: {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.RMSG_TASK_QUEUE,
      uiUrl: env.TEMPORAL_UI_URL,
    },
    rocketmq: {
      endpoints: env.ROCKETMQ_ENDPOINTS,
      namesrv: env.ROCKETMQ_NAMESRV,
      brokerAddr: env.ROCKETMQ_BROKER_ADDR,
    },
    timings: {
      checkBackAfterMs: env.RMSG_CHECK_BACK_AFTER_MS,
      checkBackBackoff: env.RMSG_CHECK_BACK_BACKOFF,
      maxCheckBackIntervalMs: env.RMSG_MAX_CHECK_BACK_INTERVAL_MS,
      confirmDeadlineMs: env.RMSG_CONFIRM_DEADLINE_MS,
      resendAfterMs: env.RMSG_RESEND_AFTER_MS,
      resendBackoff: env.RMSG_RESEND_BACKOFF,
      maxResendIntervalMs: env.RMSG_MAX_RESEND_INTERVAL_MS,
      maxSends: env.RMSG_MAX_SENDS,
      checkBackTimeoutMs: env.RMSG_CHECK_BACK_TIMEOUT_MS,
    },
    housekeeping: {
      retentionMs: env.RMSG_RETENTION_MS,
      archiveBatch: env.RMSG_ARCHIVE_BATCH,
      cron: env.RMSG_HOUSEKEEPING_CRON,
    },
    operators: {
      redriveRate: env.RMSG_REDRIVE_RATE,
      redriveMaxRate: env.RMSG_REDRIVE_MAX_RATE,
      redrivePageSize: env.RMSG_REDRIVE_PAGE_SIZE,
      auditCron: env.RMSG_AUDIT_CRON,
      auditWindowMs: env.RMSG_AUDIT_WINDOW_MS,
      auditRepair: env.RMSG_AUDIT_REPAIR,
      auditSettleMs: env.RMSG_AUDIT_SETTLE_MS,
    },
    worker: {
      maxCachedWorkflows: env.RMSG_WORKER_MAX_CACHED_WORKFLOWS,
      maxConcurrentWorkflowTaskExecutions: env.RMSG_WORKER_MAX_WORKFLOW_TASKS,
      maxConcurrentLocalActivityExecutions: env.RMSG_WORKER_MAX_LOCAL_ACTIVITIES,
      maxConcurrentActivityTaskExecutions: env.RMSG_WORKER_MAX_ACTIVITIES,
      maxConcurrentWorkflowTaskPolls: env.RMSG_WORKER_WORKFLOW_POLLERS,
      workflowThreadPoolSize: env.RMSG_WORKER_WORKFLOW_THREADS,
    },
    api: {
      host: env.RMSG_API_HOST,
      port: env.RMSG_API_PORT,
      readToken: env.RMSG_API_READ_TOKEN,
      writeToken: env.RMSG_API_WRITE_TOKEN,
    },
    logLevel: env.RMSG_LOG_LEVEL,
  };
  const parsed = configSchema.safeParse(mergeDefined(fromEnv, overrides));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

/** Deep merge that drops undefined values, so unset env vars fall through to the schema defaults. */
function mergeDefined(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const source of [base, over]) {
    for (const [k, v] of Object.entries(source)) {
      if (v === undefined || v === '') continue;
      const prev = out[k];
      out[k] =
        isPlainObject(v) && isPlainObject(prev) ? mergeDefined(prev, v) : isPlainObject(v) ? mergeDefined({}, v) : v;
    }
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
