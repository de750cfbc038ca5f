import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Pool, PoolConnection } from 'mysql2/promise';
import { FilterExpression, type MessageView, SimpleConsumer } from 'rocketmq-client-nodejs';
import { type Ack, ackSignal, MessageProperty, workflowIdForKey } from '../../workflows/definitions.js';
import { logger as defaultLogger, type Logger } from '../logger.js';
import { nameProblem } from '../names.js';
import { rocketmqClientLogger } from '../rocketmq/client-logger.js';
import { rocketmqClientOptions } from '../rocketmq/client-options.js';
import type { CheckBackServer } from '../temporal/check-back-worker.js';
import { connectTemporalClient, sdkEndpoints } from '../temporal/connection.js';
import { registerWithService } from '../temporal/registration.js';
import { extractTraceContext, inSpan, SpanKind } from '../tracing.js';
import { serveConsumerCheckBack } from './check-back-server.js';
import { claimConsumption, ensureConsumedTable } from './idempotency.js';

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
}

export type MessageHandler = (message: ConsumedMessage, ctx: ConsumeContext) => Promise<void>;

export interface ReliableConsumerOptions {
  /** This downstream application's consumer group. */
  group: string;
  topic: string;
  /** Tags to receive (RocketMQ tag filter `a || b`); all when omitted or empty. */
  tags?: string[];
  handler: MessageHandler;
  rocketmq?: { endpoints?: string };
  temporal?: { address?: string; namespace?: string };
  /** The reliable-message service's task queue. */
  serviceTaskQueue?: string;
  /**
   * Exactly-once business effects from a table in this (the consumer's business) database: the
   * handler gets a connection inside a transaction that also records (key, group), and the same
   * table answers the service's consumer check-back. Its records older than `retentionMs` are purged
   * daily (default 7 days; false: purge it yourself with `purgeConsumedMessages`).
   */
  idempotency?: { pool: Pool; retentionMs?: number | false };
  /** Handlers running at once (default 8). */
  concurrency?: number;
  /** A failed message comes back after this long (default 5 s; the proxy's minimum applies). */
  retryDelayMs?: number;
  /**
   * How long a received message stays hidden from the group's other consumers (default 30 s). It is
   * renewed while the handler runs, so a slow handler does not get a concurrent duplicate.
   */
  invisibleDurationMs?: number;
  /**
   * RECEIVED is reported when a handler is still running after this long (default 1 s); a quicker
   * handler's CONSUMED or FAILED report stands for the receipt too. 0 reports every receipt at once.
   */
  reportReceivedAfterMs?: number;
  log?: Logger;
  /** For tests only: fault injection at points where a real consumer could crash. */
  testHooks?: {
    /**
     * Runs after the handler's commit and the broker ack, before the `consumed` report. A throw
     * stands for a crash at that point: the report is not sent.
     */
    beforeConsumedReport?: (key: string) => void | Promise<void>;
  };
}

type ResolvedOptions = ReliableConsumerOptions &
  Required<
    Pick<ReliableConsumerOptions, 'concurrency' | 'retryDelayMs' | 'invisibleDurationMs' | 'reportReceivedAfterMs'>
  >;

const SERVICE_PROPERTIES = new Set<string>(Object.values(MessageProperty));
/** Long-poll length of one receive: also the longest `stop()` waits for the poll in flight. */
const AWAIT_DURATION_MS = 2000;
const MAX_RECEIVE_BATCH = 32;

/**
 * The downstream (consumer) SDK. Per message: report received, run the handler, ack the broker,
 * report consumed. A handler error leaves the message unacked so it comes back soon, and is
 * recorded on the delivery. Publications meant for other groups (resends) are acked and skipped.
 *
 *   const consumer = await ReliableConsumer.start({ group: 'stock', topic: 'orders', tags: ['created'],
 *     idempotency: { pool }, handler: async (m, { conn }) => { await conn!.query(...) } });
 *   // ...
 *   await consumer.stop();
 */
export class ReliableConsumer {
  private running = true;
  private loop: Promise<void> = Promise.resolve();
  private readonly inflight = new Set<Promise<void>>();
  private wake: (() => void) | undefined;
  private stopping: Promise<void> | undefined;
  private checkBack: CheckBackServer | undefined;

  private constructor(
    private readonly opts: ResolvedOptions,
    private readonly temporal: Client,
    private readonly consumer: SimpleConsumer,
    private readonly log: Logger,
  ) {}

  static async start(options: ReliableConsumerOptions): Promise<ReliableConsumer> {
    const opts: ResolvedOptions = {
      concurrency: 8,
      retryDelayMs: 5000,
      invisibleDurationMs: 30_000,
      reportReceivedAfterMs: 1000,
      ...options,
    };
    validate(opts);
    const log = (opts.log ?? defaultLogger).child({ consumerGroup: opts.group, topic: opts.topic });
    const { address, namespace, serviceTaskQueue, rocketmq, codec } = sdkEndpoints({
      ...opts,
      taskQueue: opts.serviceTaskQueue,
    });
    const tagExpression = opts.tags && opts.tags.length > 0 ? opts.tags.join(' || ') : '*';

    // The handler path needs the table from the first message on.
    if (opts.idempotency) await ensureConsumedTable(opts.idempotency.pool);
    const temporal = await connectTemporalClient({ address, namespace }, codec);
    let consumer: SimpleConsumer;
    try {
      // Not started yet, but its constructor already runs a timer: from here on, stop() cleans up.
      consumer = new SimpleConsumer({
        ...rocketmqClientOptions(rocketmq),
        consumerGroup: opts.group,
        subscriptions: new Map([[opts.topic, new FilterExpression(tagExpression)]]),
        awaitDuration: AWAIT_DURATION_MS,
        logger: rocketmqClientLogger(log),
      });
    } catch (err) {
      await temporal.connection.close();
      throw err;
    }
    const self = new ReliableConsumer(opts, temporal, consumer, log);
    try {
      await consumer.startup();
      // Poll before registering: a new group's position on the topic is set by its first poll, and
      // it must not be later than the first message that counts the group as a subscriber.
      // Publications that arrive before the registration do not name this group and are skipped.
      self.loop = self.receiveLoop();
      if (opts.idempotency) {
        self.checkBack = await serveConsumerCheckBack({
          client: temporal,
          address,
          serviceTaskQueue,
          group: opts.group,
          pool: opts.idempotency.pool,
          retentionMs: opts.idempotency.retentionMs,
          log,
        });
      }
      await registerWithService(temporal, serviceTaskQueue, {
        kind: 'subscription',
        topic: opts.topic,
        tagExpression,
        consumerGroup: opts.group,
      });
    } catch (err) {
      log.error({ err }, 'consumer failed to start');
      await self.stop();
      throw err;
    }
    log.info(
      { tagExpression, idempotency: Boolean(opts.idempotency), concurrency: opts.concurrency },
      'consumer started',
    );
    return self;
  }

  /** Stops receiving, lets in-flight handlers finish (and report), and closes every connection. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.log.info({ inflight: this.inflight.size }, 'stopped receiving; draining in-flight messages');
    await Promise.allSettled([...this.inflight]);
    const closing = (what: string) => (err: unknown) => this.log.warn({ err }, `could not close the ${what}`);
    await this.consumer.shutdown().catch(closing('RocketMQ consumer'));
    await this.checkBack?.stop().catch(closing('check-back worker'));
    await this.temporal.connection.close().catch(closing('Temporal connection'));
    this.log.info('consumer stopped');
  }

  private async receiveLoop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      if (this.inflight.size >= this.opts.concurrency) {
        await Promise.race(this.inflight);
        continue;
      }
      let views: MessageView[];
      try {
        views = await this.consumer.receive(
          Math.min(this.opts.concurrency - this.inflight.size, MAX_RECEIVE_BATCH),
          this.opts.invisibleDurationMs,
        );
        failures = 0;
      } catch (err) {
        if (!this.running) break;
        failures += 1;
        const retryInMs = Math.min(250 * 2 ** (failures - 1), 10_000);
        this.log.warn({ err, retryInMs, failures }, 'receive failed; retrying');
        await this.pause(retryInMs);
        continue;
      }
      for (const view of views) {
        const task: Promise<void> = this.process(view)
          .catch((err: unknown) =>
            this.log.error({ err, messageKey: keyOf(view), messageId: view.messageId }, 'message processing failed'),
          )
          .finally(() => this.inflight.delete(task));
        this.inflight.add(task);
      }
    }
  }

  /** Sleeps, but wakes up at once on stop(). */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Handles one message in a span that continues the trace the message carries (its traceparent). */
  private process(view: MessageView): Promise<void> {
    return inSpan(
      `consume ${view.topic}`,
      {
        kind: SpanKind.CONSUMER,
        parent: extractTraceContext(view.properties),
        attributes: { 'messaging.system': 'rocketmq', 'messaging.consumer.group.name': this.opts.group },
      },
      () => this.handle(view),
    );
  }

  private async handle(view: MessageView): Promise<void> {
    const key = keyOf(view);
    const groups = (view.properties.get(MessageProperty.groups) ?? '').split(',');
    const log = this.log.child({ messageKey: key, messageId: view.messageId });
    if (!key || !groups.includes(this.opts.group)) {
      // A resend for other groups (or not a reliable message at all): this group has nothing to do.
      log.debug({ groups }, 'publication for other groups; skipped');
      await this.consumer.ack(view).catch((err: unknown) => log.warn({ err }, 'ack of a skipped message failed'));
      return;
    }
    const group = this.opts.group;
    const attempt = view.deliveryAttempt ?? 1;
    // RECEIVED is reported only if the handler is still running after a moment; a quick handler's
    // outcome carries the receipt (one signal and one workflow task per message instead of two).
    const receipt = this.reportReceivedLater(key, log);
    const lease = this.keepInvisible(view, log);
    try {
      if (view.corrupted) throw new Error('message body failed its checksum (corrupted in transit)');
      await this.runHandler(key, view, attempt, log);
    } catch (err) {
      await lease.end();
      const error = err instanceof Error ? err.message : String(err);
      log.warn({ err, attempt, retryInMs: this.opts.retryDelayMs }, 'handler failed; the message comes back');
      const received = !(await receipt.settle());
      await this.report(key, { group, status: 'FAILED', error: error.slice(0, 1000), received }, log);
      await this.consumer
        .changeInvisibleDuration(view, this.opts.retryDelayMs)
        .catch((e: unknown) =>
          log.warn({ err: e }, 'could not shorten the retry delay; the message comes back when it becomes visible'),
        );
      return;
    }
    await lease.end();
    await this.consumer.ack(view).catch((err: unknown) => {
      // Committed already: a redelivery is skipped as a duplicate with idempotency (at least once without).
      log.warn({ err }, 'broker ack failed after the handler succeeded; the broker will redeliver it');
    });
    const received = !(await receipt.settle());
    if (this.opts.testHooks?.beforeConsumedReport) {
      try {
        await this.opts.testHooks.beforeConsumedReport(key);
      } catch (err) {
        log.error({ err }, 'crash injected before the consumed report; not reported');
        return;
      }
    }
    await this.report(key, { group, status: 'CONSUMED', received }, log);
    log.debug({ attempt }, 'consumed');
  }

  /** Runs the handler, inside the idempotency transaction when there is one. */
  private async runHandler(key: string, view: MessageView, attempt: number, log: Logger): Promise<void> {
    const message = toConsumedMessage(key, view);
    const ctx: ConsumeContext = { group: this.opts.group, attempt };
    const pool = this.opts.idempotency?.pool;
    if (!pool) return this.opts.handler(message, ctx);
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      if (await claimConsumption(conn, key, this.opts.group)) await this.opts.handler(message, { ...ctx, conn });
      else log.info({ attempt }, 'already consumed by this group; handler not run again');
      await conn.commit();
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }

  /**
   * Keeps a message invisible to the group's other consumers while its handler runs, renewing the
   * lease at two thirds of its length. `end()` stops renewing and waits for a renewal in flight, as
   * a renewal changes the receipt handle that the ack needs.
   */
  private keepInvisible(view: MessageView, log: Logger): { end(): Promise<void> } {
    const period = Math.max(Math.floor((this.opts.invisibleDurationMs * 2) / 3), 500);
    let ended = false;
    let renewing: Promise<void> = Promise.resolve();
    const renew = () => {
      renewing = this.consumer
        .changeInvisibleDuration(view, this.opts.invisibleDurationMs)
        .catch((err: unknown) =>
          log.warn({ err }, 'could not extend the invisible duration; a duplicate delivery may follow'),
        )
        .then(() => {
          if (!ended) timer = setTimeout(renew, period);
        });
    };
    let timer = setTimeout(renew, period);
    return {
      async end() {
        ended = true;
        clearTimeout(timer);
        await renewing;
      },
    };
  }

  /** Signals the message's workflow; a closed or unknown workflow is logged, never fatal. */
  /**
   * Sends RECEIVED once the handler has run for `reportReceivedAfterMs`. `settle()` stops the timer
   * (or waits for a report already under way) and tells whether RECEIVED was sent.
   */
  private reportReceivedLater(key: string, log: Logger): { settle(): Promise<boolean> } {
    let sent: Promise<void> | undefined;
    const send = () => {
      sent = this.report(key, { group: this.opts.group, status: 'RECEIVED' }, log);
    };
    const timer = this.opts.reportReceivedAfterMs > 0 ? setTimeout(send, this.opts.reportReceivedAfterMs) : undefined;
    if (!timer) send();
    return {
      async settle() {
        clearTimeout(timer);
        if (!sent) return false;
        await sent;
        return true;
      },
    };
  }

  private async report(key: string, ack: Ack, log: Logger): Promise<void> {
    try {
      await this.temporal.workflow.getHandle(workflowIdForKey(key)).signal(ackSignal, ack);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        log.info({ status: ack.status }, 'message workflow is closed or unknown; report dropped');
      else log.warn({ err, status: ack.status }, 'report to the service failed');
    }
  }
}

function keyOf(view: MessageView): string | undefined {
  return view.properties.get(MessageProperty.key) ?? view.keys[0];
}

function validate(opts: ResolvedOptions): void {
  const problems: string[] = [];
  for (const field of ['group', 'topic'] as const) {
    const problem = opts[field]?.trim() ? nameProblem(opts[field]) : 'required';
    if (problem) problems.push(`${field}: ${problem}`);
  }
  if (typeof opts.handler !== 'function') problems.push('handler: must be a function');
  for (const tag of opts.tags ?? []) {
    if (!tag.trim() || tag.includes('||')) problems.push(`tags: "${tag}" is not a tag (give each tag on its own)`);
  }
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1)
    problems.push('concurrency: must be a positive integer');
  if (!(opts.retryDelayMs >= 0)) problems.push('retryDelayMs: must be >= 0');
  if (!(opts.invisibleDurationMs >= 1000)) problems.push('invisibleDurationMs: must be >= 1000');
  if (!(opts.reportReceivedAfterMs >= 0)) problems.push('reportReceivedAfterMs: must be >= 0');
  const retentionMs = opts.idempotency?.retentionMs;
  if (retentionMs !== undefined && retentionMs !== false && !(retentionMs > 0))
    problems.push('idempotency.retentionMs: must be a positive number, or false');
  if (problems.length > 0) throw new TypeError(`invalid ReliableConsumer options: ${problems.join('; ')}`);
}

function toConsumedMessage(key: string, view: MessageView): ConsumedMessage {
  const properties: Record<string, string> = {};
  for (const [k, v] of view.properties) if (!SERVICE_PROPERTIES.has(k)) properties[k] = v;
  return {
    key,
    topic: view.topic,
    tag: view.tag,
    body: view.body.toString('utf8'),
    properties,
    messageId: view.messageId,
    round: Number(view.properties.get(MessageProperty.round) ?? 1),
  };
}
