import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { timingsConfigSchema } from './timings.js';

/**
 * All configuration in one validated place. Every value has a default that works with the local
 * stack (`scripts/stack.sh up`); environment variables override them.
 */
const duration = z.coerce.number().int().nonnegative();
/** An on/off setting: a boolean, or `true`/`false`/`1`/`0` from the environment. */
const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1');

const configSchema = z.object({
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
  temporal: z
    .object({
      address: z.string().default('127.0.0.1:7233'),
      namespace: z.string().default('default'),
      taskQueue: z.string().default('reliable-message'),
      uiUrl: z.string().url().default('http://127.0.0.1:8233'),
      /**
       * Managed services (Temporal Cloud, a cluster behind TLS). TLS is on when `tls` is set or any
       * setting below is; the local dev server needs none of them.
       */
      tls: flag.default(false),
      /** PEM file of the CA that signed the server's certificate, when it is not publicly trusted. */
      tlsServerCaCertPath: z.string().min(1).optional(),
      /** Overrides the server name checked against its certificate (SNI). */
      tlsServerName: z.string().min(1).optional(),
      /** Client certificate and key (PEM files) for mutual TLS; both or neither. */
      tlsClientCertPath: z.string().min(1).optional(),
      tlsClientKeyPath: z.string().min(1).optional(),
      /** API key authentication (Temporal Cloud); implies TLS. */
      apiKey: z.string().min(1).optional(),
    })
    .refine((t) => (t.tlsClientCertPath === undefined) === (t.tlsClientKeyPath === undefined), {
      message:
        'tlsClientCertPath and tlsClientKeyPath go together (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH)',
      path: ['tlsClientKeyPath'],
    })
    .prefault({}),
  rocketmq: z
    .object({
      /** The proxy's gRPC endpoint, used by rocketmq-client-nodejs. */
      endpoints: z.string().default('127.0.0.1:8081'),
      namesrv: z.string().default('127.0.0.1:9876'),
      /** Broker remoting address, used to create topics. */
      brokerAddr: z.string().default('127.0.0.1:10911'),
      /** ACL credentials of a managed RocketMQ (the proxy checks them); none for the local stack. */
      accessKey: z.string().min(1).optional(),
      secretKey: z.string().min(1).optional(),
      securityToken: z.string().min(1).optional(),
      /** TLS to the proxy's gRPC endpoint. */
      tls: flag.default(false),
    })
    .refine((r) => (r.accessKey === undefined) === (r.secretKey === undefined), {
      message: 'accessKey and secretKey go together (ROCKETMQ_ACCESS_KEY, ROCKETMQ_SECRET_KEY)',
      path: ['secretKey'],
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
  /**
   * Encryption of payloads in Temporal (AES-256-GCM), off without keys. `keys` is `id:base64key,...`
   * (32-byte keys); new payloads are encrypted with `encryptWith` (default: the last key), every
   * listed key still decrypts, so a rotation adds a key and moves `encryptWith` to it.
   */
  codec: z
    .object({
      keys: z.string().default(''),
      encryptWith: z.string().min(1).optional(),
    })
    .prefault({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
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
    databaseUrl: env.RMSG_DATABASE_URL,
    databaseTls: {
      enabled: env.RMSG_DATABASE_TLS,
      caPath: env.RMSG_DATABASE_TLS_CA_PATH,
      rejectUnauthorized: env.RMSG_DATABASE_TLS_REJECT_UNAUTHORIZED,
    },
    temporal: {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.RMSG_TASK_QUEUE,
      uiUrl: env.TEMPORAL_UI_URL,
      // The names Temporal's own CLI and SDK environment configuration use.
      tls: env.TEMPORAL_TLS,
      tlsServerCaCertPath: env.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
      tlsServerName: env.TEMPORAL_TLS_SERVER_NAME,
      tlsClientCertPath: env.TEMPORAL_TLS_CLIENT_CERT_PATH,
      tlsClientKeyPath: env.TEMPORAL_TLS_CLIENT_KEY_PATH,
      apiKey: env.TEMPORAL_API_KEY,
    },
    rocketmq: {
      endpoints: env.ROCKETMQ_ENDPOINTS,
      namesrv: env.ROCKETMQ_NAMESRV,
      brokerAddr: env.ROCKETMQ_BROKER_ADDR,
      accessKey: env.ROCKETMQ_ACCESS_KEY,
      secretKey: env.ROCKETMQ_SECRET_KEY,
      securityToken: env.ROCKETMQ_SECURITY_TOKEN,
      tls: env.ROCKETMQ_TLS,
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
      writeRateLimitPerMinute: env.RMSG_API_WRITE_RATE_LIMIT,
    },
    timingFloorMs: env.RMSG_TIMING_FLOOR_MS,
    checkBack: { allowedHosts: env.RMSG_CHECK_BACK_HOSTS },
    codec: { keys: env.RMSG_CODEC_KEYS, encryptWith: env.RMSG_CODEC_ENCRYPT_WITH },
    logLevel: env.RMSG_LOG_LEVEL,
    tracing: { exporter: env.OTEL_TRACES_EXPORTER, serviceName: env.OTEL_SERVICE_NAME },
  };
  const parsed = configSchema.safeParse(mergeDefined(fromEnv, overrides));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

/** Reads a PEM file a setting names; a missing file is a configuration error naming the setting. */
export function readPem(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`invalid configuration: ${setting}: cannot read ${path} (${(err as Error).message})`);
  }
}

/** Drops undefined values, so defaults underneath apply (a spread would overwrite them). */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
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
