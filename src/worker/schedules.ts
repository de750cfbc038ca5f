import {
  type Client,
  ScheduleAlreadyRunning,
  type ScheduleOptionsStartWorkflowAction,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { auditWorkflow } from '../../workflows/audit.js';
import {
  HOUSEKEEPING_SCHEDULE_ID,
  HOUSEKEEPING_WORKFLOW,
  type HousekeepingInput,
} from '../../workflows/definitions.js';
import type { housekeepingWorkflow } from '../../workflows/housekeeping.js';
import { AUDIT_SCHEDULE_ID, AUDIT_WORKFLOW, type AuditInput } from '../../workflows/operator-definitions.js';
import type { Config } from '../config.js';

/**
 * Creates the housekeeping Schedule, or brings an existing one in line with the config, so every
 * service start leaves exactly one schedule with the current cron, retention and task queue.
 * Operators see, pause and trigger it in Temporal UI. `scheduleId` is for tests.
 */
export async function ensureSchedules(
  client: Client,
  config: Config,
  opts: { scheduleId?: string } = {},
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = opts.scheduleId ?? HOUSEKEEPING_SCHEDULE_ID;
  const input: HousekeepingInput = {
    retentionMs: config.housekeeping.retentionMs,
    batchSize: config.housekeeping.archiveBatch,
  };
  const action: ScheduleOptionsStartWorkflowAction<typeof housekeepingWorkflow> = {
    type: 'startWorkflow',
    workflowType: HOUSEKEEPING_WORKFLOW,
    // The server appends the scheduled time, so each run has its own ID.
    workflowId: scheduleId,
    taskQueue: config.temporal.taskQueue,
    args: [input],
  };
  return upsertSchedule(client, scheduleId, config.housekeeping.cron, action);
}

/**
 * Creates or updates the `rmsg-audit` Schedule beside housekeeping: a daily audit of the messages
 * created in the last `operators.auditWindowMs`, repairing only if `operators.auditRepair`.
 */
export async function ensureAuditSchedule(
  client: Client,
  config: Config,
  opts: { scheduleId?: string } = {},
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = opts.scheduleId ?? AUDIT_SCHEDULE_ID;
  const input: AuditInput = {
    windowMs: config.operators.auditWindowMs,
    repair: config.operators.auditRepair,
    triggeredBy: 'schedule',
  };
  const action: ScheduleOptionsStartWorkflowAction<typeof auditWorkflow> = {
    type: 'startWorkflow',
    workflowType: AUDIT_WORKFLOW,
    workflowId: scheduleId,
    taskQueue: config.temporal.taskQueue,
    args: [input],
  };
  return upsertSchedule(client, scheduleId, config.operators.auditCron, action);
}

async function upsertSchedule(
  client: Client,
  scheduleId: string,
  cron: string,
  action: ScheduleOptionsStartWorkflowAction<Workflow>,
): Promise<{ scheduleId: string; created: boolean }> {
  const spec = { cronExpressions: [cron] };
  // SKIP: a run still busy with a large backlog is not joined by a second one.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies });
    return { scheduleId, created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action, policies }));
  return { scheduleId, created: false };
}
