import { z } from 'zod';
import { flag, parseConfig } from './config-parse.js';
import { sdkConfigFromEnv, sdkConfigShape } from './sdk-config.js';
import { timingsConfigSchema } from './timings.js';

/**
 * The service's configuration in one validated place: the SDKs' settings (src/sdk-config.ts) and the
 * service's own. Every value has a default that works with the local stack (`scripts/stack.sh up`);
 * environment variables override them.
 */
const duration = z.coerce.number().int().nonnegative();

const configSchema = z.object({
  ...sdkConfigShape,
  databaseUrl: z.string().url().default('mysql://rmsg:rmsg@127.0.0.1:3306/reliable_message'),
  /** TLS to the projection database (a managed MySQL); off for the local stack. */
  databaseTls: z
    .object({
      /** On when set, or when a CA file is given. */
      enabled: flag.default(false),
      /** PEM file of the CA that signed the server's certificate, when it is not publicly trusted. */
      caPath: z.string().min(1).optional(),
      /** Refuse a server whose certificate does not verify (leave on outside experiments). */
      rejectUnauthorized: flag.default(true),
    })
    .prefault({}),
  timings: timingsConfigSchema.prefault({}),
  /**
   * The least any per-message duration may be (a message asking for less gets this). 1 s protects the
   * service from a message that asks every millisecond; tests set 1.
   */
  timingFloorMs: z.coerce.number().int().min(1).default(1000),
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
  /** Operator tools: bulk redrive and the projection audit with its `rmsg-audit` Schedule. */
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
  /** The service worker's own settings (not the SDK's). */
  workflowCode: z
    .object({
      /**
       * Temporal UI's "Stack Trace" of a running message (where its workflow waits). Off by default: the
       * SDK records a stack for every promise of workflow code to answer it, a third of the workflow CPU.
       */
      stackTraces: flag.default(false),
    })
    .prefault({}),
  /** The HTTP API (`rmsg api`, `rmsg start`). */
  api: z
    .object({
      /** Without a token the API refuses any host but loopback. */
      host: z.string().min(1).default('127.0.0.1'),
      port: z.coerce.number().int().min(0).max(65535).default(8090),
      /** Bearer token of a reader (read routes); more tokens of any role: `rmsg token create`. */
      readToken: z.string().min(16).optional(),
      /** Bearer token of an operator (every route). */
      writeToken: z.string().min(16).optional(),
      /** Write requests per minute per caller (token, or address without one); 0 = no limit. */
      writeRateLimitPerMinute: z.coerce.number().int().nonnegative().default(0),
    })
    .prefault({}),
  /** Where the service may send HTTP check-backs (link-local and cloud metadata addresses never). */
  checkBack: z
    .object({
      /**
       * Hosts a check-back URL may name: exact names or addresses, `*.example.com` for subdomains,
       * `*` for any host. The default allows loopback only (the local stack).
       */
      allowedHosts: z
        .preprocess(
          (v) =>
            typeof v === 'string'
              ? v
                  .split(',')
                  .map((h) => h.trim().toLowerCase())
                  .filter(Boolean)
              : v,
          z.array(z.string().min(1)),
        )
        .default(['localhost', '127.0.0.1', '[::1]']),
    })
    .prefault({}),
  /** OpenTelemetry (src/tracing.ts): the exporter's own settings come from the standard OTEL_* variables. */
  tracing: z
    .object({
      /** OTEL_TRACES_EXPORTER: `none` (default) keeps tracing off. */
      exporter: z.enum(['none', 'otlp', 'console']).default('none'),
      serviceName: z.string().min(1).default('reliable-message'),
    })
    .prefault({}),
});
export type Config = z.infer<typeof configSchema>;

/** Reads the environment (RMSG_*, TEMPORAL_*, ROCKETMQ_*, OTEL_*) into a validated Config. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const fromEnv = {
    ...sdkConfigFromEnv(env),
    databaseUrl: env.RMSG_DATABASE_URL,
    databaseTls: {
      enabled: env.RMSG_DATABASE_TLS,
      caPath: env.RMSG_DATABASE_TLS_CA_PATH,
      rejectUnauthorized: env.RMSG_DATABASE_TLS_REJECT_UNAUTHORIZED,
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
    workflowCode: { stackTraces: env.RMSG_WORKER_STACK_TRACES },
    api: {
      host: env.RMSG_API_HOST,
      port: env.RMSG_API_PORT,
      readToken: env.RMSG_API_READ_TOKEN,
      writeToken: env.RMSG_API_WRITE_TOKEN,
      writeRateLimitPerMinute: env.RMSG_API_WRITE_RATE_LIMIT,
    },
    timingFloorMs: env.RMSG_TIMING_FLOOR_MS,
    checkBack: { allowedHosts: env.RMSG_CHECK_BACK_HOSTS },
    tracing: { exporter: env.OTEL_TRACES_EXPORTER, serviceName: env.OTEL_SERVICE_NAME },
  };
  return parseConfig(configSchema, fromEnv, overrides);
}
