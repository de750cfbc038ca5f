import { Client, Connection, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'mysql2/promise';
import {
  cancelUpdate,
  confirmUpdate,
  FailureType,
  type MessageSpec,
  type MessageState,
  type Registration,
  resendUpdate,
  stateQuery,
  type Timings,
  workflowIdForKey,
} from '../../workflows/definitions.js';
import { InvalidTransitionError, MessageNotFoundError } from '../errors.js';
import { logger as defaultLogger, type Logger } from '../logger.js';
import { parseMessageKey, parseMessageSpec } from '../message-spec.js';
import { registerWithService } from '../temporal/registration.js';
import { type CheckBackHandler, type CheckBackServer, serveProducerCheckBack } from './check-back-server.js';
import { runInLocalTransaction } from './local-transaction.js';
import { type PrepareResult, startMessage } from './start-message.js';

export interface ClientOptions {
  temporal?: { address?: string; namespace?: string };
  /** The reliable-message service's task queue (its worker's). */
  taskQueue?: string;
  /** This upstream application's name; its check-back answers for its messages. */
  producerGroup: string;
  log?: Logger;
}

/** What `prepare` and `send` take: a message without its producer group (the client's). */
export type MessageInput = Omit<MessageSpec, 'producerGroup'> & { timings?: Partial<Timings> };

export type { PrepareResult };

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
  ) {}

  static async connect(opts: ClientOptions): Promise<ReliableMessageClient> {
    const address = opts.temporal?.address ?? process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
    const namespace = opts.temporal?.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default';
    const connection = await Connection.connect({ address });
    const log = (opts.log ?? defaultLogger).child({ producerGroup: opts.producerGroup });
    const taskQueue = opts.taskQueue ?? process.env.RMSG_TASK_QUEUE ?? 'reliable-message';
    return new ReliableMessageClient(new Client({ connection, namespace }), taskQueue, opts.producerGroup, address, log);
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
    return this.update(key, 'confirm', (h) => h.executeUpdate(confirmUpdate, { args: [{ by: 'producer' }] }), ['SENDING', 'FINISHED']);
  }

  /** The upstream business rolled back: the message is never published. Idempotent; an error once confirmed. */
  cancel(key: string, reason?: string): Promise<MessageState> {
    return this.update(key, 'cancel', (h) => h.executeUpdate(cancelUpdate, { args: [{ by: 'producer', reason }] }), ['CANCELLED']);
  }

  /** Operator resend: a DEAD message gets a fresh send budget. */
  resend(key: string): Promise<MessageState> {
    return this.update(key, 'resend', (h) => h.executeUpdate(resendUpdate), []);
  }

  /** The message's whole state, with its deliveries. */
  async get(key: string): Promise<MessageState> {
    parseMessageKey(key);
    try {
      return await this.temporal.workflow.getHandle(workflowIdForKey(key)).query(stateQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new MessageNotFoundError(key);
      throw err;
    }
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
   * happened. Pass a handler, or `{ pool }` to answer from `withReliableMessage`'s local table.
   */
  async serveCheckBack(group: string, handler: CheckBackHandler | { pool: Pool }): Promise<CheckBackServer> {
    const server = await serveProducerCheckBack({
      address: this.address,
      namespace: this.temporal.options.namespace,
      group,
      handler,
      log: this.log,
      register: (r) => this.register(r),
    });
    this.servers.push(server);
    return server;
  }

  /** Records a subscription or check-back with the service (through its worker). */
  register(registration: Registration): Promise<void> {
    return registerWithService(this.temporal, this.taskQueue, registration);
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.splice(0).map((s) => s.stop()));
    await this.temporal.connection.close();
  }

  private async start(input: MessageInput, confirmed: boolean): Promise<PrepareResult> {
    return startMessage(this.temporal, this.taskQueue, parseMessageSpec({ ...input, producerGroup: this.producerGroup }), confirmed);
  }

  private async update(
    key: string,
    action: string,
    call: (h: ReturnType<Client['workflow']['getHandle']>) => Promise<MessageState>,
    closedOk: MessageState['status'][],
  ): Promise<MessageState> {
    parseMessageKey(key);
    const handle = this.temporal.workflow.getHandle(workflowIdForKey(key));
    try {
      return await call(handle);
    } catch (err) {
      if (
        err instanceof WorkflowUpdateFailedError &&
        err.cause instanceof ApplicationFailure &&
        err.cause.type === FailureType.invalidTransition
      ) {
        throw new InvalidTransitionError(key, err.cause.message);
      }
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      // Not running: either it never existed, or it closed (FINISHED/CANCELLED) and its state is final.
      const state = await this.get(key);
      if (closedOk.includes(state.status)) return state;
      throw new InvalidTransitionError(key, `message ${key} is ${state.status}; it cannot be given ${action}`);
    }
  }
}
