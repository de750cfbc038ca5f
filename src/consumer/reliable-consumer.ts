import { setMaxListeners } from 'node:events';
import type { Client } from '@temporalio/client';
import { FilterExpression, type MessageView, SimpleConsumer } from 'rocketmq-client-nodejs';
import { type Ack, MessageProperty } from '../../workflows/definitions.js';
import { settlesBefore } from '../deadline.js';
import { logger as defaultLogger, type Logger } from '../logger.js';
import { rocketmqClientLogger } from '../rocketmq/client-logger.js';
import { rocketmqClientOptions } from '../rocketmq/client-options.js';
import type { CheckBackServer } from '../temporal/check-back-worker.js';
import { connectTemporalClient, sdkEndpoints } from '../temporal/connection.js';
import { type BackgroundRegistration, registerForStart } from '../temporal/registration.js';
import { extractTraceContext, inSpan, SpanKind } from '../tracing.js';
import { serveConsumerCheckBack } from './check-back-server.js';
import { runHandler } from './handler-run.js';
import { ensureConsumedTable } from './idempotency.js';
import {
  type ConsumedMessage,
  parseConsumerOptions,
  type ReliableConsumerOptions,
  type ResolvedConsumerOptions,
} from './options.js';
import { ReportOutbox, signalReports } from './report-outbox.js';

const SERVICE_PROPERTIES = new Set<string>(Object.values(MessageProperty));
/** Long-poll length of one receive: also the longest `stop()` waits for the poll in flight. */
const AWAIT_DURATION_MS = 2000;
const MAX_RECEIVE_BATCH = 32;
/** After `stop()` aborts the handlers still running, it waits this much longer for them to wind up. */
const ABORT_GRACE_MS = 1000;
/** However short `stop()`'s deadline, pending reports get at least this long to go out. */
const MIN_REPORT_FLUSH_MS = 1000;

/**
 * The downstream (consumer) SDK. Per message: report received, run the handler, ack the broker,
 * report consumed. A handler error (or timeout) leaves the message unacked so it comes back soon, and
 * is recorded on the delivery. Publications meant for other groups (resends) are acked and skipped.
 * Reports go through a ReportOutbox, so a Temporal outage delays them but loses none.
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
  private registration: BackgroundRegistration | undefined;
  /** Aborted at `stop()`'s deadline: the handlers still running are given up. */
  private readonly abortHandlers = new AbortController();
  private readonly reports: ReportOutbox;

  private constructor(
    private readonly opts: ResolvedConsumerOptions,
    private readonly temporal: Client,
    private readonly consumer: SimpleConsumer,
    private readonly log: Logger,
  ) {
    // Each running handler listens for the stop: up to `concurrency` listeners is expected, more a leak.
    setMaxListeners(opts.concurrency, this.abortHandlers.signal);
    this.reports = new ReportOutbox(
      signalReports(temporal),
      opts.group,
      opts.maxPendingReports,
      log,
      opts.idempotency?.pool,
    );
  }

  static async start(options: ReliableConsumerOptions): Promise<ReliableConsumer> {
    const opts = parseConsumerOptions(options);
    const log = (opts.log ?? defaultLogger).child({ consumerGroup: opts.group, topic: opts.topic });
    const { address, namespace, serviceTaskQueue, rocketmq, codec } = sdkEndpoints({
      ...opts,
      taskQueue: opts.serviceTaskQueue,
    });
    const tagExpression = opts.tags && opts.tags.length > 0 ? opts.tags.join(' || ') : '*';

    // The handler path needs the table from the first message on.
    if (opts.idempotency) await ensureConsumedTable(opts.idempotency.pool);
    // The report outbox retries for as long as it takes; the client's own long retries only delay it.
    const temporal = await connectTemporalClient({ address, namespace }, codec, { callerRetries: true });
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
          concurrency: opts.idempotency.checkBackConcurrency,
          registrationTimeoutMs: opts.registrationTimeoutMs,
          log,
        });
        await self.reports.recover();
      }
      self.registration = await registerForStart({
        client: temporal,
        serviceTaskQueue,
        registration: { kind: 'subscription', topic: opts.topic, tagExpression, consumerGroup: opts.group },
        timeoutMs: opts.registrationTimeoutMs,
        log,
      });
    } catch (err) {
      log.error({ err }, 'consumer failed to start');
      await self.stop({ deadlineMs: 0 });
      throw err;
    }
    log.info(
      { tagExpression, idempotency: Boolean(opts.idempotency), concurrency: opts.concurrency },
      'consumer started',
    );
    return self;
  }

  /**
   * Stops receiving, lets in-flight handlers finish and their reports go out, and closes every
   * connection. Handlers still running at the deadline (default `stopTimeoutMs`) are aborted, their
   * transactions rolled back and their messages left to come back; reports still undelivered then
   * stay in the idempotency table, when there is one, for the next start. Idempotent.
   */
  stop(options: { deadlineMs?: number } = {}): Promise<void> {
    this.stopping ??= this.shutdown(Date.now() + (options.deadlineMs ?? this.opts.stopTimeoutMs));
    return this.stopping;
  }

  private async shutdown(deadline: number): Promise<void> {
    this.running = false;
    this.wake?.();
    const registering = this.registration?.cancel();
    this.log.info({ inflight: this.inflight.size }, 'stopped receiving; draining in-flight messages');
    // The loop itself may be waiting for a free handler slot, so it is part of what the deadline bounds.
    const drained = async () => {
      await this.loop;
      await Promise.allSettled([...this.inflight]);
    };
    if (!(await settlesBefore(drained(), deadline))) {
      this.log.warn({ inflight: this.inflight.size }, 'stop deadline reached; aborting handlers still running');
      this.abortHandlers.abort();
      await settlesBefore(drained(), Date.now() + ABORT_GRACE_MS);
    }
    await this.reports.close(Math.max(deadline, Date.now() + MIN_REPORT_FLUSH_MS));
    await registering;
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
    const receipt = this.reportReceivedLater(key);
    const lease = this.keepInvisible(view, log);
    try {
      if (view.corrupted) throw new Error('message body failed its checksum (corrupted in transit)');
      await runHandler({
        handler: this.opts.handler,
        message: toConsumedMessage(key, view),
        ctx: { group, attempt },
        pool: this.opts.idempotency?.pool,
        timeoutMs: this.opts.handlerTimeoutMs,
        stopping: this.abortHandlers.signal,
        log,
      });
    } catch (err) {
      await lease.end();
      const error = err instanceof Error ? err.message : String(err);
      log.warn({ err, attempt, retryInMs: this.opts.retryDelayMs }, 'handler failed; the message comes back');
      const received = !receipt.settle();
      this.report(key, { group, status: 'FAILED', error: error.slice(0, 1000), received });
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
    const received = !receipt.settle();
    if (this.opts.testHooks?.beforeConsumedReport) {
      try {
        await this.opts.testHooks.beforeConsumedReport(key);
      } catch (err) {
        log.error({ err }, 'crash injected before the consumed report; not reported');
        return;
      }
    }
    this.report(key, { group, status: 'CONSUMED', received });
    log.debug({ attempt }, 'consumed');
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

  /**
   * Sends RECEIVED once the handler has run for `reportReceivedAfterMs`. `settle()` stops the timer
   * and tells whether RECEIVED was sent.
   */
  private reportReceivedLater(key: string): { settle(): boolean } {
    let sent = false;
    const send = () => {
      sent = true;
      this.report(key, { group: this.opts.group, status: 'RECEIVED' });
    };
    const timer = this.opts.reportReceivedAfterMs > 0 ? setTimeout(send, this.opts.reportReceivedAfterMs) : undefined;
    if (!timer) send();
    return {
      settle() {
        clearTimeout(timer);
        return sent;
      },
    };
  }

  /** Hands a report to the outbox, which delivers it to the message's workflow when it can. */
  private report(key: string, ack: Ack): void {
    this.reports.send(key, ack);
  }
}

function keyOf(view: MessageView): string | undefined {
  return view.properties.get(MessageProperty.key) ?? view.keys[0];
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
