import type { Pool, PoolConnection } from 'mysql2/promise';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import { endpointOverride, milliseconds, nameOption, parseSdkOptions, positiveInt } from '../sdk-options.js';
import { tagExpressionSchema } from '../tag-expression.js';
import { DEFAULT_REGISTRATION_TIMEOUT_MS } from '../temporal/registration.js';

export interface ConsumedMessage {
  key: string;
  topic: string;
  tag?: string;
  body: string;
  /** The producer's own properties (the service's RMSG_* ones removed). */
  properties: Record<string, string>;
  messageId: string;
  /** 1 for the first publication, more for resends. */
  round: number;
}

export interface ConsumeContext {
  group: string;
  /**
   * The broker's delivery count for this publication (1 the first time). Informational: the broker
   * does not keep it exact across changed invisible durations, and a resend is a new publication.
   */
  attempt: number;
  /** With idempotency: a connection inside the transaction that also records (key, group). */
  conn?: PoolConnection;
  /**
   * Aborted when the handler runs past `handlerTimeoutMs` or `stop()`'s deadline passes. The
   * consumer no longer waits for it then: its transaction is rolled back and the message comes
   * back. Pass it to your own calls (fetch, timers) so they end too.
   */
  signal: AbortSignal;
}

export type MessageHandler = (message: ConsumedMessage, ctx: ConsumeContext) => Promise<void>;

const consumerOptionsSchema = z
  .object({
    /** This downstream application's consumer group. */
    group: nameOption,
    topic: nameOption,
    /** Tags to receive (RocketMQ tag filter `a || b`); all when omitted or empty. */
    tags: z
      .array(
        z
          .string()
          .trim()
          .min(1, 'must not be empty')
          .refine((t) => !t.includes('||'), "must be one tag each (give each tag on its own, without '||')"),
      )
      // The subscription the service records takes the same expressions as the API's.
      .refine(
        (tags) => tagExpressionSchema.safeParse(tags.join(' || ')).success,
        "must be tags without '|', '*' or spaces (or the one tag '*'), at most 512 characters joined by ' || '",
      )
      .optional(),
    handler: z.custom<MessageHandler>((v) => typeof v === 'function', 'must be a function'),
    rocketmq: z.object({ endpoints: endpointOverride }).optional(),
    temporal: z.object({ address: endpointOverride, namespace: endpointOverride }).optional(),
    /** The reliable-message service's task queue. */
    serviceTaskQueue: endpointOverride,
    /**
     * Exactly-once business effects from a table in this (the consumer's business) database: the
     * handler gets a connection inside a transaction that also records (key, group), and the same
     * table answers the service's consumer check-back and keeps CONSUMED reports not yet delivered.
     * Its records older than `retentionMs` are purged daily (default 7 days; false: purge it yourself
     * with `purgeConsumedMessages`). At most `checkBackConcurrency` (default 2) check-backs, and so
     * connections of the pool, run at once.
     */
    idempotency: z
      .object({
        pool: z.custom<Pool>(
          (v) => typeof (v as Pool | undefined)?.getConnection === 'function',
          'must be a mysql2/promise Pool',
        ),
        retentionMs: z.union([z.literal(false), milliseconds]).optional(),
        checkBackConcurrency: positiveInt.optional(),
      })
      .optional(),
    /** Handlers running at once. */
    concurrency: positiveInt.default(8),
    /** A failed message comes back after this long (the proxy's minimum applies). */
    retryDelayMs: z.number().nonnegative('must be >= 0').default(5000),
    /**
     * How long a received message stays hidden from the group's other consumers. It is renewed
     * while the handler runs (up to `handlerTimeoutMs`), so a slow handler gets no concurrent duplicate.
     */
    invisibleDurationMs: z.number().min(1000, 'must be >= 1000').default(30_000),
    /**
     * RECEIVED is reported when a handler is still running after this long; a quicker handler's
     * CONSUMED or FAILED report stands for the receipt too. 0 reports every receipt at once.
     */
    reportReceivedAfterMs: z.number().nonnegative('must be >= 0').default(1000),
    /** A handler still running after this long is aborted (see ConsumeContext.signal) and retried. */
    handlerTimeoutMs: milliseconds.default(60_000),
    /** `stop()` aborts handlers still running after this long (unless given its own deadline). */
    stopTimeoutMs: milliseconds.default(30_000),
    /**
     * Reports the service has not received yet (Temporal unreachable) kept in memory; past this, the
     * oldest are dropped (a CONSUMED one stays in the idempotency table when there is one).
     */
    maxPendingReports: positiveInt.default(10_000),
    /** How long `start` waits for the service to confirm the registration before going on without it. */
    registrationTimeoutMs: milliseconds.default(DEFAULT_REGISTRATION_TIMEOUT_MS),
    log: z.custom<Logger>().optional(),
    /** For tests only: fault injection at points where a real consumer could crash. */
    testHooks: z
      .custom<{
        /**
         * Runs after the handler's commit and the broker ack, before the `consumed` report. A throw
         * stands for a crash at that point: the report is not sent.
         */
        beforeConsumedReport?: (key: string) => void | Promise<void>;
      }>()
      .optional(),
  })
  .strict();

export type ReliableConsumerOptions = z.input<typeof consumerOptionsSchema>;
export type ResolvedConsumerOptions = z.output<typeof consumerOptionsSchema>;

/** Validates the options and fills in defaults; a ValidationError names the first bad field. */
export function parseConsumerOptions(options: ReliableConsumerOptions): ResolvedConsumerOptions {
  return parseSdkOptions(consumerOptionsSchema, options);
}
