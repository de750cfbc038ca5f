/**
 * The one Prometheus registry of the process. Transitions are observed where they are written (the
 * worker's projection sync); the message gauge is filled from the database when `/metrics` is scraped,
 * so it is right whichever process did the work. `rmsg start` runs worker and API in one process, so
 * its `/metrics` carries both.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MessageEvent, MessageState, MessageStatus } from '../workflows/definitions.js';
import { MESSAGE_STATUSES } from '../workflows/definitions.js';

export const registry = new Registry();

/** Seconds, from 10 ms to ~3 h: publishing takes milliseconds, consuming may wait for resends. */
const LATENCY_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 10800];

export const messagesGauge = new Gauge({
  name: 'rmsg_messages',
  help: 'Messages in the projection by status (counted in MySQL at scrape time)',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const publishLatency = new Histogram({
  name: 'rmsg_publish_latency_seconds',
  help: 'From confirm to the first publication to RocketMQ',
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const consumeLatency = new Histogram({
  name: 'rmsg_confirm_to_consumed_seconds',
  help: 'From confirm to a consumer group reporting the message consumed',
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const resendsTotal = new Counter({
  name: 'rmsg_resends_total',
  help: 'Publications after the first one (automatic and operator resends)',
  registers: [registry],
});

export const checkBacksTotal = new Counter({
  name: 'rmsg_check_backs_total',
  help: 'Check-backs by kind (producer, consumer) and answer (COMMIT, ROLLBACK, UNKNOWN, MALFORMED, ERROR, ...)',
  labelNames: ['kind', 'answer'] as const,
  registers: [registry],
});

export const deadTotal = new Counter({
  name: 'rmsg_dead_total',
  help: 'Messages given up (DEAD) by reason (UNCONFIRMED, UNCONSUMED, REJECTED)',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const noSubscribersTotal = new Counter({
  name: 'rmsg_no_subscribers_total',
  help: 'Messages confirmed while no consumer group subscribed to their topic and tag (published, then FINISHED)',
  registers: [registry],
});

export const publishFailuresTotal = new Counter({
  name: 'rmsg_publish_failures_total',
  help: 'Publish attempts that failed and will be retried (counted once per message and distinct error)',
  registers: [registry],
});

export const dependencyUp = new Gauge({
  name: 'rmsg_dependency_up',
  help: 'Whether the worker reaches a dependency (mysql, rocketmq): 1 up, 0 down since the last failed call',
  labelNames: ['dependency'] as const,
  registers: [registry],
});

/**
 * Observes the transitions among `events`. The caller passes only events it has just inserted, so an
 * activity retry never counts one twice.
 */
export function observeEvents(state: MessageState, events: MessageEvent[]): void {
  const sinceConfirm = (at: number) =>
    state.confirmedAt === undefined ? undefined : Math.max(0, at - state.confirmedAt) / 1000;
  for (const e of events) {
    const answer = typeof e.detail?.answer === 'string' ? e.detail.answer : 'NONE';
    switch (e.type) {
      case 'PUBLISHED': {
        const s = sinceConfirm(e.at);
        if (s !== undefined) publishLatency.observe(s);
        break;
      }
      case 'CONSUMED': {
        const s = sinceConfirm(e.at);
        if (s !== undefined) consumeLatency.observe(s);
        break;
      }
      case 'RESENT':
        resendsTotal.inc();
        break;
      case 'CHECK_BACK':
        checkBacksTotal.inc({ kind: 'producer', answer });
        break;
      case 'CONSUMER_CHECK_BACK':
        checkBacksTotal.inc({ kind: 'consumer', answer });
        break;
      case 'NO_SUBSCRIBERS':
        noSubscribersTotal.inc();
        break;
      case 'PUBLISH_FAILED':
        publishFailuresTotal.inc();
        break;
      case 'DEAD':
        deadTotal.inc({ reason: typeof e.detail?.reason === 'string' ? e.detail.reason : 'UNKNOWN' });
        break;
    }
  }
}

/** Sets the message gauge from a count by status; statuses with no row read 0, not "absent". */
export function setMessageCounts(counts: Partial<Record<MessageStatus, number>>): void {
  for (const status of MESSAGE_STATUSES) messagesGauge.set({ status }, counts[status] ?? 0);
}

export const redriveMessagesTotal = new Counter({
  name: 'rmsg_redrive_messages_total',
  help: 'Messages a redrive acted on, by action (resend, confirm, cancel) and outcome (done, skipped, failed)',
  labelNames: ['action', 'outcome'] as const,
  registers: [registry],
});

export const auditFindings = new Gauge({
  name: 'rmsg_audit_findings',
  help: 'Findings of the last audit by kind (stuck, diverged, workflowWithoutRow, rowWithoutWorkflow), after repair',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const auditRepairsTotal = new Counter({
  name: 'rmsg_audit_repairs_total',
  help: 'Projections the audit re-synced from their workflow, by finding kind',
  labelNames: ['kind'] as const,
  registers: [registry],
});
