/**
 * The public contract of the operator workflows: bulk redrive and the projection audit. Safe to import
 * outside workflows.
 */
import type { DeadReason, MessageStatus } from './definitions.js';

export const REDRIVE_WORKFLOW = 'redriveWorkflow';
export const AUDIT_WORKFLOW = 'auditWorkflow';
/** The Temporal Schedule that runs the audit daily, beside housekeeping. */
export const AUDIT_SCHEDULE_ID = 'rmsg-audit';

export function workflowIdForRedrive(id: string): string {
  return `rmsg-redrive:${id}`;
}

export const REDRIVE_ACTIONS = ['resend', 'confirm', 'cancel'] as const;
export type RedriveAction = (typeof REDRIVE_ACTIONS)[number];

/** Which messages a redrive (or its dry run) selects; every field narrows the selection. */
export interface RedriveFilter {
  status?: MessageStatus;
  /** The message's deadReason (UNCONFIRMED, UNCONSUMED). */
  reason?: DeadReason;
  topic?: string;
  /** Messages with a delivery to this group (a DEAD delivery, when status is DEAD). */
  consumerGroup?: string;
  /** Created at or after (ISO 8601). */
  from?: string;
  /** Created before (ISO 8601). */
  to?: string;
  /** The normalised lastError (see errorClassOf). */
  errorClass?: string;
}

export interface RedriveInput {
  redriveId: string;
  filter: RedriveFilter;
  action: RedriveAction;
  ratePerSecond: number;
  /** The selection's last message id, fixed when the redrive was created. */
  maxMessageId: string;
  /** Keys per activity call. */
  pageSize: number;
  /** Set on continue-as-new: where the previous run stopped. */
  resume?: { cursorId: string; totals: RedriveTotals };
}

export interface RedriveTotals {
  done: number;
  skipped: number;
  failed: number;
}

export interface RedrivePageInput {
  redriveId: string;
  filter: RedriveFilter;
  action: RedriveAction;
  ratePerSecond: number;
  maxMessageId: string;
  /** Messages with an id above this are next. */
  cursorId: string;
  pageSize: number;
}

export interface RedrivePageResult extends RedriveTotals {
  /** The last message id looked at; null when the selection is exhausted. */
  cursorId: string | null;
}

/** The kinds of finding an audit reports; each is a metric label too. */
export const AUDIT_FINDINGS = ['stuck', 'diverged', 'workflowWithoutRow', 'rowWithoutWorkflow'] as const;
export type AuditFinding = (typeof AUDIT_FINDINGS)[number];

export interface AuditInput {
  /** Epoch ms; messages created in [from, to) are audited. Absent: the schedule's window ending now. */
  from?: number;
  to?: number;
  /** Length of the window ending at the run's start, when from/to are absent (the schedule). */
  windowMs?: number;
  repair: boolean;
  triggeredBy: 'operator' | 'schedule';
}

export interface AuditFindingReport {
  count: number;
  /** Up to 20 keys, for a person to look at. */
  sample: string[];
  repaired: number;
}

export interface AuditReport {
  id: string;
  from: string;
  to: string;
  repair: boolean;
  triggeredBy: AuditInput['triggeredBy'];
  /** Messages (rows and workflows) looked at. */
  checked: number;
  findings: Record<AuditFinding, AuditFindingReport>;
  startedAt: string;
  finishedAt: string;
}
