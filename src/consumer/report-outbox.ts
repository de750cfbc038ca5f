import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import { type Ack, ackSignal, workflowIdForKey } from '../../workflows/definitions.js';
import { settlesBefore } from '../deadline.js';
import type { Logger } from '../logger.js';
import { markReported, pendingReports } from './idempotency.js';

/** One signal may take this long (the Temporal client's own retries included) before it counts as failed. */
const SIGNAL_TIMEOUT_MS = 5000;
/** Reports in flight at once while the service is reachable; while it is not, one probes. */
const MAX_IN_FLIGHT = 16;
/** Also about the longest a report waits after the service is back. */
const MAX_BACKOFF_MS = 5000;
/** Delivered CONSUMED reports are marked in the idempotency table in batches, at most this late. */
const MARK_EVERY_MS = 1000;

/** Sends one report; throws when the service could not be reached (the outbox retries it). */
export type DeliverReport = (key: string, ack: Ack) => Promise<'delivered' | 'workflow closed'>;

/** Reports as signals to each message's workflow, each bounded by SIGNAL_TIMEOUT_MS. */
export function signalReports(temporal: Client): DeliverReport {
  return async (key, ack) => {
    try {
      await temporal.connection.withDeadline(Date.now() + SIGNAL_TIMEOUT_MS, () =>
        temporal.workflow.getHandle(workflowIdForKey(key)).signal(ackSignal, ack),
      );
      return 'delivered';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'workflow closed';
      throw err;
    }
  };
}

/**
 * A later report for a key folds into one not yet sent: the outcome wins over a receipt (whose count
 * it then carries), and CONSUMED over a FAILED (an old failure must not land after the consumption).
 */
export function mergeReports(older: Ack, newer: Ack): Ack {
  const outcome = older.status === 'CONSUMED' || newer.status === 'RECEIVED' ? older : newer;
  if (outcome.status === 'RECEIVED') return outcome;
  const received = Boolean(
    older.received || newer.received || older.status === 'RECEIVED' || newer.status === 'RECEIVED',
  );
  return { ...outcome, received };
}

/**
 * The consumer's reports to the service, sent in the background and kept until delivered, so a
 * Temporal outage costs no report: retried with backoff, at most `maxPending` (and 16 in flight)
 * held in memory, oldest dropped first; with an idempotency table the CONSUMED ones are also there
 * (report_pending) until delivered, for a restarted consumer to send. An outage is logged once when
 * it starts and once when it ends.
 */
export class ReportOutbox {
  private readonly pending = new Map<string, Ack>();
  private readonly sending = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private delivered: string[] = [];
  private markTimer: NodeJS.Timeout | undefined;
  private marking: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private backingOff = false;
  private failures = 0;
  private failingSince: number | undefined;
  private dropped = 0;
  /** Reports dropped from memory are still in the table: load them again once the queue drains. */
  private reload = false;
  private reloading: Promise<void> | undefined;
  private closed = false;
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly deliverOne: DeliverReport,
    private readonly group: string,
    private readonly maxPending: number,
    private readonly log: Logger,
    private readonly pool?: Pool,
  ) {}

  /** Queues a report; it is sent at once unless the service is unreachable. Never throws. */
  send(key: string, ack: Ack): void {
    if (this.closed) return;
    const queued = this.pending.get(key);
    if (queued) this.pending.set(key, mergeReports(queued, ack));
    else {
      if (this.pending.size >= this.maxPending) this.dropOldest();
      this.pending.set(key, ack);
    }
    this.pump();
  }

  /** Queues the CONSUMED reports a previous process of this group left in the idempotency table. */
  async recover(): Promise<void> {
    if (!this.pool) return;
    const room = this.maxPending - this.pending.size;
    if (room <= 0) return;
    const keys = await pendingReports(this.pool, this.group, room);
    this.reload = keys.length === room;
    for (const key of keys) {
      if (!this.pending.has(key) && !this.sending.has(key))
        this.pending.set(key, { group: this.group, status: 'CONSUMED' });
    }
    if (keys.length > 0)
      this.log.info({ reports: keys.length }, 'sending CONSUMED reports kept in the idempotency table');
    this.pump();
  }

  /**
   * Waits until every report is delivered or `deadline` (epoch ms) passes, then stops; returns how
   * many were left undelivered, with one log line saying what becomes of them.
   */
  async close(deadline: number): Promise<number> {
    if (this.backingOff) this.retryNow();
    await new Promise<void>((resolve) => {
      const check = () => {
        if (this.pending.size + this.sending.size === 0 || Date.now() >= deadline) {
          this.idle.delete(check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(check, Math.max(0, deadline - Date.now()));
      this.idle.add(check);
      check();
    });
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.markTimer);
    const left = this.pending.size + this.sending.size;
    // The connection must not close under a signal the Temporal client may still retry (its retry
    // timer would throw, uncaught, on the closed channel); each ends by its deadline.
    await settlesBefore(Promise.allSettled([...this.inFlight]), Date.now() + SIGNAL_TIMEOUT_MS + 1000);
    await this.markDelivered();
    if (left > 0) {
      if (this.pool) this.log.warn({ pending: left }, 'reports left pending at stop; kept in the idempotency table');
      else
        this.log.warn({ pending: left }, 'reports left pending at stop are lost; the service resends those messages');
    }
    return left;
  }

  private pump(): void {
    if (this.closed || this.backingOff) return;
    const limit = this.failingSince === undefined ? MAX_IN_FLIGHT : 1;
    for (const [key, ack] of this.pending) {
      if (this.sending.size >= limit) break;
      if (this.sending.has(key)) continue;
      this.pending.delete(key);
      this.sending.add(key);
      const task: Promise<void> = this.deliver(key, ack).finally(() => {
        this.inFlight.delete(task);
        this.sending.delete(key);
        this.pump();
        this.notifyIdle();
      });
      this.inFlight.add(task);
    }
    if (this.pending.size === 0 && this.sending.size === 0 && this.reload && !this.reloading) {
      this.reloading = this.markDelivered()
        .then(() => this.recover())
        .catch((err: unknown) => this.log.warn({ err }, 'could not read the reports kept in the idempotency table'))
        .finally(() => {
          this.reloading = undefined;
        });
    }
  }

  private async deliver(key: string, ack: Ack): Promise<void> {
    try {
      if ((await this.deliverOne(key, ack)) === 'workflow closed')
        this.log.info({ messageKey: key, status: ack.status }, 'message workflow is closed or unknown; report dropped');
    } catch (err) {
      if (this.closed) return;
      const newer = this.pending.get(key);
      if (!newer && this.pending.size >= this.maxPending) this.dropOldest();
      this.pending.set(key, newer ? mergeReports(ack, newer) : ack);
      this.failed(err);
      return;
    }
    this.succeeded();
    if (ack.status === 'CONSUMED' && this.pool) {
      this.delivered.push(key);
      this.markTimer ??= setTimeout(() => {
        this.markTimer = undefined;
        void this.markDelivered();
      }, MARK_EVERY_MS);
    }
  }

  private failed(err: unknown): void {
    if (this.backingOff) return;
    this.failures += 1;
    if (this.failingSince === undefined) {
      this.failingSince = Date.now();
      this.log.warn(
        { err, pending: this.pending.size },
        'reports to the service are failing; keeping them and retrying',
      );
    }
    this.backingOff = true;
    this.retryTimer = setTimeout(() => this.retryNow(), Math.min(500 * 2 ** (this.failures - 1), MAX_BACKOFF_MS));
  }

  private succeeded(): void {
    if (this.failingSince !== undefined) {
      this.log.info(
        { outageMs: Date.now() - this.failingSince, pending: this.pending.size, dropped: this.dropped },
        'reports to the service are delivered again',
      );
    }
    this.failingSince = undefined;
    this.failures = 0;
    this.dropped = 0;
  }

  private retryNow(): void {
    clearTimeout(this.retryTimer);
    this.backingOff = false;
    this.pump();
  }

  private dropOldest(): void {
    const [oldest] = this.pending.keys();
    if (oldest === undefined) return;
    const ack = this.pending.get(oldest);
    this.pending.delete(oldest);
    if (this.dropped === 0)
      this.log.warn(
        { maxPending: this.maxPending, keptInTable: Boolean(this.pool) },
        'too many reports pending; dropping the oldest from memory',
      );
    this.dropped += 1;
    if (ack?.status === 'CONSUMED' && this.pool) this.reload = true;
  }

  /** Clears report_pending of the delivered CONSUMED reports; on failure they are sent again later (harmless). */
  private markDelivered(): Promise<void> {
    const pool = this.pool;
    const keys = this.delivered.splice(0);
    if (!pool || keys.length === 0) return this.marking;
    this.marking = this.marking
      .then(() => markReported(pool, this.group, keys))
      .catch((err: unknown) =>
        this.log.warn({ err, reports: keys.length }, 'could not mark delivered reports in the idempotency table'),
      );
    return this.marking;
  }

  private notifyIdle(): void {
    for (const check of [...this.idle]) check();
  }
}
