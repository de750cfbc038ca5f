import type { Client } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import type { MessageSpec, MessageState, Registration, Timings } from '../../workflows/definitions.js';
import { logger as defaultLogger, type Logger } from '../logger.js';
import { parseMessageSpec } from '../message-spec.js';
import { createTopicCatalog, type TopicCatalog } from '../rocketmq/topic-catalog.js';
import { connectTemporalClient, sdkEndpoints } from '../temporal/connection.js';
import { registerWithService } from '../temporal/registration.js';
import {
  type CheckBackHandler,
  type CheckBackOptions,
  type CheckBackServer,
  type LocalTableCheckBack,
  serveProducerCheckBack,
} from './check-back-server.js';
import { runInLocalTransaction } from './local-transaction.js';
import { cancelMessage, confirmMessage, getMessageState, resendMessage } from './message-ops.js';
import { type ClientOptions, parseClientOptions } from './options.js';
import { type PrepareResult, startMessage } from './start-message.js';

/** What `prepare` and `send` take: a message without its producer group (the client's). */
export type MessageInput = Omit<MessageSpec, 'producerGroup'> & { timings?: Partial<Timings> };

export type { ClientOptions, PrepareResult };

/**
 * The upstream (producer) SDK. Every call is by message key and idempotent by key.
 *
 *   const client = await ReliableMessageClient.connect({ producerGroup: 'order-service' });
 *   await client.prepare({ key, topic: 'order-events', tag: 'created', body });
 *   // ... local transaction commits ...
 *   await client.confirm(key);
 */
export class ReliableMessageClient {
  private readonly servers: CheckBackServer[] = [];

  private constructor(
    readonly temporal: Client,
    readonly taskQueue: string,
    readonly producerGroup: string,
    private readonly address: string,
    private readonly log: Logger,
    private readonly topics: TopicCatalog,
    private readonly registrationTimeoutMs?: number,
  ) {}

  static async connect(options: ClientOptions): Promise<ReliableMessageClient> {
    const opts = parseClientOptions(options);
    const { address, namespace, serviceTaskQueue, codec, rocketmq } = sdkEndpoints(opts);
    const log = (opts.log ?? defaultLogger).child({ producerGroup: opts.producerGroup });
    const temporal = await connectTemporalClient({ address, namespace }, codec);
    return new ReliableMessageClient(
      temporal,
      serviceTaskQueue,
      opts.producerGroup,
      address,
      log,
      createTopicCatalog({ namesrv: rocketmq.namesrv, log }),
      opts.registrationTimeoutMs,
    );
  }

  /** Registers a message before the local transaction. Nothing is published until it is confirmed. */
  prepare(message: MessageInput): Promise<PrepareResult> {
    return this.start(message, false);
  }

  /** Prepare and confirm in one call: for a message whose business already happened. */
  async send(message: MessageInput): Promise<PrepareResult> {
    const result = await this.start(message, true);
    if (!result.created) await this.confirm(message.key);
    return result;
  }

  /** The upstream business committed: publish the message. Idempotent; an error after cancel. */
  confirm(key: string): Promise<MessageState> {
    return confirmMessage(this.temporal, key, 'producer');
  }

  /** The upstream business rolled back: the message is never published. Idempotent; an error once confirmed. */
  cancel(key: string, reason?: string): Promise<MessageState> {
    return cancelMessage(this.temporal, key, 'producer', reason);
  }

  /** Operator resend: a DEAD message gets a fresh send budget. */
  resend(key: string): Promise<MessageState> {
    return resendMessage(this.temporal, key);
  }

  /** The message's whole state, with its deliveries. */
  get(key: string): Promise<MessageState> {
    return getMessageState(this.temporal, key);
  }

  /**
   * Runs `business(conn)` in a local transaction that also records the message key in the SDK's
   * local table, then confirms; cancels if it throws. The check-back served with
   * `serveCheckBack(group, { pool })` answers from that table, so a crash between commit and
   * confirm still ends in delivery.
   */
  withReliableMessage<T>(
    pool: Pool,
    message: MessageInput,
    business: (conn: import('mysql2/promise').PoolConnection) => Promise<T>,
  ): Promise<T> {
    return runInLocalTransaction(this, pool, message, business, this.log);
  }

  /**
   * Serves this producer group's check-back: the service asks it whether the business with a key
   * happened. Pass a handler, or `{ pool }` to answer from `withReliableMessage`'s local table (whose
   * old rows are then purged daily; `retentionMs`, default 7 days). At most `concurrency` (default
   * 2) check-backs run at once.
   */
  async serveCheckBack(
    group: string,
    handler: CheckBackHandler | LocalTableCheckBack,
    options: CheckBackOptions = {},
  ): Promise<CheckBackServer> {
    const server = await serveProducerCheckBack({
      client: this.temporal,
      address: this.address,
      serviceTaskQueue: this.taskQueue,
      registrationTimeoutMs: this.registrationTimeoutMs,
      group,
      handler,
      log: this.log,
      ...options,
    });
    this.servers.push(server);
    return server;
  }

  /**
   * Records a subscription or check-back with the service (through its worker) and waits until it
   * is recorded. A registration the service refuses is a ValidationError at once; one not recorded
   * within 60 s (no service worker, or the service's database down) fails with an error saying so.
   */
  register(registration: Registration): Promise<void> {
    return registerWithService(this.temporal, this.taskQueue, registration);
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.splice(0).map((s) => s.stop()));
    await this.temporal.connection.close();
  }

  private async start(input: MessageInput, confirmed: boolean): Promise<PrepareResult> {
    return startMessage(
      this.temporal,
      this.taskQueue,
      parseMessageSpec({ ...input, producerGroup: this.producerGroup }),
      confirmed,
      this.topics,
    );
  }
}
