import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { Pool, PoolConnection } from 'mysql2/promise';
import { FilterExpression, type MessageView, SimpleConsumer } from 'rocketmq-client-nodejs';
import { type Ack, ackSignal, MessageProperty, workflowIdForKey } from '../../workflows/definitions.js';
import { logger as defaultLogger, type Logger } from '../logger.js';
import { rocketmqClientLogger } from '../rocketmq/client-logger.js';
import type { CheckBackServer } from '../temporal/check-back-worker.js';
import { registerWithService } from '../temporal/registration.js';
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
  /** How many times the broker has delivered this publication. */
  attempt: number;
  /** With idempotency: a connection inside the transaction that also records (key, group). */
  conn?: PoolConnection;
}

export type MessageHandler = (message: ConsumedMessage, ctx: ConsumeContext) => Promise<void>;

export interface ReliableConsumerOptions {
  group: string;
  topic: string;
  /** Tags to receive (RocketMQ tag filter); all when omitted. */
  tags?: string[];
  handler: MessageHandler;
  rocketmq?: { endpoints?: string };
  temporal?: { address?: string; namespace?: string };
  /** The reliable-message service's task queue. */
  serviceTaskQueue?: string;
  /** Exactly-once business effects, and the consumer check-back, from a table in this database. */
  idempotency?: { pool: Pool };
  /** Handlers running at once. */
  concurrency?: number;
  /** A failed message comes back after this long. */
  retryDelayMs?: number;
  /** How long a received message stays hidden from other consumers of the group while handled. */
  invisibleDurationMs?: number;
  log?: Logger;
}

const SERVICE_PROPERTIES = new Set<string>(Object.values(MessageProperty));

/**
 * The downstream (consumer) SDK. Per message: report received, run the handler, ack the broker,
 * report consumed. A handler error leaves the message unacked so it comes back, and is recorded on
 * the delivery. Publications meant for other groups (resends) are acked and skipped.
 */
export class ReliableConsumer {
  private running = true;
  private loop: Promise<void> = Promise.resolve();
  private readonly inflight = new Set<Promise<void>>();

  private constructor(
    private readonly opts: Required<Pick<ReliableConsumerOptions, 'concurrency' | 'retryDelayMs' | 'invisibleDurationMs'>> &
      ReliableConsumerOptions,
    private readonly temporal: Client,
    private readonly consumer: SimpleConsumer,
    private readonly checkBack: CheckBackServer | undefined,
    private readonly log: Logger,
  ) {}

  static async start(options: ReliableConsumerOptions): Promise<ReliableConsumer> {
    const opts = { concurrency: 8, retryDelayMs: 5000, invisibleDurationMs: 30_000, ...options };
    const log = (opts.log ?? defaultLogger).child({ consumerGroup: opts.group, topic: opts.topic });
    const address = opts.temporal?.address ?? process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
    const serviceTaskQueue = opts.serviceTaskQueue ?? process.env.RMSG_TASK_QUEUE ?? 'reliable-message';
    const temporal = new Client({
      connection: await Connection.connect({ address }),
      namespace: opts.temporal?.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default',
    });
    const tagExpression = opts.tags && opts.tags.length > 0 ? opts.tags.join(' || ') : '*';
    // Subscribe before registering: a new group starts at the broker's latest offset.
    const consumer = new SimpleConsumer({
      endpoints: opts.rocketmq?.endpoints ?? process.env.ROCKETMQ_ENDPOINTS ?? '127.0.0.1:8081',
      namespace: '',
      consumerGroup: opts.group,
      subscriptions: new Map([[opts.topic, new FilterExpression(tagExpression)]]),
      awaitDuration: 2000,
      logger: rocketmqClientLogger(log),
    });
    await consumer.startup();
    let checkBack: CheckBackServer | undefined;
    if (opts.idempotency) {
      await ensureConsumedTable(opts.idempotency.pool);
      checkBack = await serveConsumerCheckBack({
        client: temporal,
        address,
        serviceTaskQueue,
        group: opts.group,
        pool: opts.idempotency.pool,
        log,
      });
    }
    await registerWithService(temporal, serviceTaskQueue, {
      kind: 'subscription',
      topic: opts.topic,
      tagExpression,
      consumerGroup: opts.group,
    });
    const self = new ReliableConsumer(opts, temporal, consumer, checkBack, log);
    self.loop = self.receiveLoop();
    log.info({ tagExpression, idempotency: Boolean(opts.idempotency) }, 'consumer started');
    return self;
  }

  /** Stops receiving, lets in-flight handlers finish, and closes every connection. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.allSettled(this.inflight);
    await this.consumer.shutdown();
    await this.checkBack?.stop();
    await this.temporal.connection.close();
    this.log.info('consumer stopped');
  }

  private async receiveLoop(): Promise<void> {
    while (this.running) {
      if (this.inflight.size >= this.opts.concurrency) {
        await Promise.race(this.inflight);
        continue;
      }
      let views: MessageView[];
      try {
        views = await this.consumer.receive(Math.min(this.opts.concurrency - this.inflight.size, 32), this.opts.invisibleDurationMs);
      } catch (err) {
        if (this.running && !isNoMessage(err)) this.log.warn({ err }, 'receive failed; retrying');
        continue;
      }
      for (const view of views) {
        const task: Promise<void> = this.process(view).finally(() => this.inflight.delete(task));
        this.inflight.add(task);
      }
    }
  }

  private async process(view: MessageView): Promise<void> {
    const key = view.properties.get(MessageProperty.key) ?? view.keys[0];
    const groups = (view.properties.get(MessageProperty.groups) ?? '').split(',');
    const log = this.log.child({ messageKey: key, messageId: view.messageId });
    if (!key || !groups.includes(this.opts.group)) {
      log.debug({ groups }, 'publication for other groups; skipped');
      await this.consumer.ack(view).catch((err: unknown) => log.warn({ err }, 'ack of a skipped message failed'));
      return;
    }
    await this.report(key, { group: this.opts.group, status: 'RECEIVED' }, log);
    try {
      await this.runHandler(key, view);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      log.warn({ err, attempt: view.deliveryAttempt }, 'handler failed; the message comes back');
      await this.report(key, { group: this.opts.group, status: 'FAILED', error: error.slice(0, 1000) }, log);
      await this.consumer
        .changeInvisibleDuration(view, this.opts.retryDelayMs)
        .catch((e: unknown) => log.warn({ err: e }, 'could not shorten the retry delay'));
      return;
    }
    await this.consumer.ack(view);
    await this.report(key, { group: this.opts.group, status: 'CONSUMED' }, log);
    log.debug('consumed');
  }

  /** Runs the handler, inside the idempotency transaction when there is one. */
  private async runHandler(key: string, view: MessageView): Promise<void> {
    const message = toConsumedMessage(key, view);
    const ctx: ConsumeContext = { group: this.opts.group, attempt: view.deliveryAttempt ?? 1 };
    const pool = this.opts.idempotency?.pool;
    if (!pool) return this.opts.handler(message, ctx);
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      if (await claimConsumption(conn, key, this.opts.group)) await this.opts.handler(message, { ...ctx, conn });
      else this.log.info({ messageKey: key }, 'already consumed by this group; handler not run again');
      await conn.commit();
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }

  /** Signals the message's workflow; a closed or unknown workflow is logged, never fatal. */
  private async report(key: string, ack: Ack, log: Logger): Promise<void> {
    try {
      await this.temporal.workflow.getHandle(workflowIdForKey(key)).signal(ackSignal, ack);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) log.info({ status: ack.status }, 'message workflow is closed; report dropped');
      else log.warn({ err, status: ack.status }, 'report to the service failed');
    }
  }
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

/** The long poll ending with nothing to deliver is not an error worth a warning. */
function isNoMessage(err: unknown): boolean {
  const e = err as { code?: number; name?: string };
  return e?.code === 40401 || e?.name === 'NotFoundException' || /MESSAGE_NOT_FOUND|no new message/i.test(String(err));
}
