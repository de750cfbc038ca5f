import { Context } from '@temporalio/activity';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Prisma } from '../src/db/prisma.js';
import { auditFindings, auditRepairsTotal } from '../src/metrics.js';
import {
  type MessageSpec,
  type MessageState,
  type MessageStatus,
  RELIABLE_MESSAGE_WORKFLOW,
  type ReliableMessageInput,
  SearchAttribute,
  stateQuery,
  type Timings,
  visibleStatus,
} from '../workflows/definitions.js';
import {
  AUDIT_FINDINGS,
  type AuditFinding,
  type AuditInput,
  type AuditReport,
} from '../workflows/operator-definitions.js';
import type { ActivityDeps } from './deps.js';

const FINAL: MessageStatus[] = ['FINISHED', 'CANCELLED'];
const PAGE = 200;
const SAMPLE = 20;
const QUERY_TIMEOUT_MS = 5000;

type Deps = Pick<ActivityDeps, 'prisma' | 'projections' | 'temporal' | 'config' | 'log'>;
type Range = { from: number; to: number; repair: boolean; triggeredBy: AuditInput['triggeredBy'] };

/** Temporal visibility query values are single-quoted strings. */
const quoted = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * How long a message in this state may go without its workflow writing anything: the workflow wakes at
 * least once per check-back (WAITING_CONFIRM) or resend (SENDING) interval, and each wake-up writes.
 */
function quietLimitMs(status: MessageStatus, timings: Timings, delayMs: number | null): number | undefined {
  const { checkBackTimeoutMs: asking } = timings;
  if (status === 'WAITING_CONFIRM') return Math.max(timings.checkBackAfterMs, timings.maxCheckBackIntervalMs) + asking;
  if (status === 'SENDING')
    return Math.max(timings.resendAfterMs, timings.maxResendIntervalMs) + asking + (delayMs ?? 0);
  return undefined; // final, or DEAD: waiting for an operator is not being stuck
}

/**
 * The audit: for messages created in [from, to), compares the MySQL projection with Temporal
 * visibility (the status its record stands for, open or closed: visibleStatus) and reports
 * - stuck: a WAITING_CONFIRM or SENDING row not written for longer than its workflow's longest wait,
 *   or past its confirm deadline;
 * - diverged: a row whose status disagrees with its workflow (confirmed with the `state` query, so a
 *   search attribute still on its way is not counted);
 * - workflowWithoutRow: a message workflow whose key has no row (nor an archived one);
 * - rowWithoutWorkflow: a row not final whose workflow Temporal does not know.
 * With `repair`, diverged rows and missing rows are re-synced from the workflow's state
 * (ProjectionWriter.resync). A stuck message whose row agrees with its workflow, and a row without a
 * workflow, are only reported: their workflow is what is wrong, and nothing safe can fix it from here.
 */
export async function runAudit(
  deps: Deps,
  range: Range,
  heartbeat: () => void = () => undefined,
): Promise<AuditReport> {
  const { prisma, projections, temporal, config, log } = deps;
  const startedAt = new Date();
  const settledBefore = startedAt.getTime() - config.operators.auditSettleMs;
  const queue = config.temporal.taskQueue;
  const findings = Object.fromEntries(
    AUDIT_FINDINGS.map((k) => [k, { count: 0, sample: [] as string[], repaired: 0 }]),
  ) as AuditReport['findings'];
  const found = (kind: AuditFinding, key: string) => {
    findings[kind].count += 1;
    if (findings[kind].sample.length < SAMPLE) findings[kind].sample.push(key);
  };
  const repaired = (kind: AuditFinding, key: string) => {
    findings[kind].repaired += 1;
    auditRepairsTotal.inc({ kind });
    log.info({ messageKey: key, kind }, 'audit: projection re-synced from the workflow');
  };
  /** The workflow's own state; undefined when it does not answer in time (no worker for it: stuck). */
  const stateOf = (workflowId: string): Promise<MessageState | undefined> =>
    temporal
      .withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => temporal.workflow.getHandle(workflowId).query(stateQuery))
      .catch((err: unknown) => {
        log.warn({ workflowId, err }, 'audit: the workflow did not answer its state query');
        return undefined;
      });
  let checked = 0;

  // 1. Rows created in the range, against their workflows.
  let afterId = 0n;
  for (;;) {
    const rows = await prisma.message.findMany({
      where: { createdAt: { gte: new Date(range.from), lt: new Date(range.to) }, id: { gt: afterId } },
      orderBy: { id: 'asc' },
      take: PAGE,
      select: {
        id: true,
        key: true,
        status: true,
        version: true,
        workflowId: true,
        options: true,
        delayMs: true,
        createdAt: true,
        updatedAt: true,
      },
    });
    if (rows.length === 0) break;
    afterId = rows[rows.length - 1]?.id ?? afterId;
    checked += rows.length;
    const workflows = await visible(temporal, `WorkflowId IN (${rows.map((r) => quoted(r.workflowId)).join(',')})`);
    for (const row of rows) {
      if (row.updatedAt.getTime() > settledBefore) continue;
      const wf = workflows.get(row.workflowId);
      if (!wf) {
        if (!FINAL.includes(row.status)) found('rowWithoutWorkflow', row.key);
        continue;
      }
      const shown = visibleStatus(wf.typedSearchAttributes.get(SearchAttribute.status), wf.status.name);
      const closed = wf.status.name !== 'RUNNING';
      const timings = row.options as unknown as Timings;
      const quiet = quietLimitMs(row.status, timings, row.delayMs);
      const pastDeadline =
        row.status === 'WAITING_CONFIRM' && row.createdAt.getTime() + timings.confirmDeadlineMs < settledBefore;
      const stuck = pastDeadline || (quiet !== undefined && row.updatedAt.getTime() + quiet < settledBefore);
      const suspect = shown !== row.status || closed !== FINAL.includes(row.status);
      if (!stuck && !suspect) continue;
      const state = await stateOf(row.workflowId);
      if (!state) {
        found('stuck', row.key);
        continue;
      }
      // A later message refused for reusing the key (DEAD(KEY_REUSED)) never owns the earlier one's row.
      if (state.deadReason === 'KEY_REUSED') continue;
      const diverged = state.status !== row.status || state.version !== row.version;
      const kind: AuditFinding | undefined = diverged ? 'diverged' : stuck ? 'stuck' : undefined;
      if (!kind) continue; // visibility had not caught up yet
      found(kind, row.key);
      if (range.repair && diverged) {
        const outcome = await projections.resync(state);
        if (outcome === 'updated') repaired(kind, row.key);
      }
    }
    heartbeat();
  }

  // 2. Message workflows started in the range, against rows (by key, wherever the row was created).
  const started = `WorkflowType = ${quoted(RELIABLE_MESSAGE_WORKFLOW)} AND TaskQueue = ${quoted(queue)} AND StartTime >= ${quoted(new Date(range.from).toISOString())} AND StartTime < ${quoted(new Date(range.to).toISOString())} AND ExecutionStatus != 'ContinuedAsNew'`;
  let batch: WorkflowExecutionInfo[] = [];
  const checkBatch = async () => {
    const keys = batch.map((wf) => keyOf(wf));
    const [rows, archived] = await Promise.all([
      prisma.message.findMany({ where: { key: { in: keys } }, select: { key: true } }),
      prisma.messageArchive.findMany({ where: { key: { in: keys } }, select: { key: true } }),
    ]);
    const known = new Set([...rows, ...archived].map((r) => r.key));
    for (const wf of batch) {
      const key = keyOf(wf);
      if (known.has(key) || wf.startTime.getTime() > settledBefore) continue;
      found('workflowWithoutRow', key);
      if (!range.repair) continue;
      const [state, message] = await Promise.all([stateOf(wf.workflowId), firstInput(temporal, wf)]);
      if (state && message && (await projections.resync(state, message)) === 'created')
        repaired('workflowWithoutRow', key);
    }
    checked += batch.length;
    batch = [];
    heartbeat();
  };
  for await (const wf of temporal.workflow.list({ query: started, pageSize: PAGE })) {
    batch.push(wf);
    if (batch.length >= PAGE) await checkBatch();
  }
  if (batch.length > 0) await checkBatch();

  for (const kind of AUDIT_FINDINGS) auditFindings.set({ kind }, findings[kind].count - findings[kind].repaired);
  const finishedAt = new Date();
  const run = await prisma.auditRun.create({
    data: {
      triggeredBy: range.triggeredBy,
      rangeFrom: new Date(range.from),
      rangeTo: new Date(range.to),
      repair: range.repair,
      findings: { checked, ...findings } as unknown as Prisma.InputJsonObject,
      repaired: Object.fromEntries(AUDIT_FINDINGS.map((k) => [k, findings[k].repaired])),
      startedAt,
      finishedAt,
    },
  });
  const counts = Object.fromEntries(AUDIT_FINDINGS.map((k) => [k, findings[k].count]));
  log.info({ auditId: run.id.toString(), checked, ...counts, repair: range.repair }, 'audit finished');
  return {
    id: run.id.toString(),
    from: new Date(range.from).toISOString(),
    to: new Date(range.to).toISOString(),
    repair: range.repair,
    triggeredBy: range.triggeredBy,
    checked,
    findings,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
  };
}

/** Open and closed executions matching a visibility query, by workflow ID (the latest run of each). */
async function visible(temporal: Client, query: string): Promise<Map<string, WorkflowExecutionInfo>> {
  const out = new Map<string, WorkflowExecutionInfo>();
  for await (const wf of temporal.workflow.list({ query: `${query} AND ExecutionStatus != 'ContinuedAsNew'` })) {
    const seen = out.get(wf.workflowId);
    if (!seen || seen.startTime < wf.startTime) out.set(wf.workflowId, wf);
  }
  return out;
}

function keyOf(wf: WorkflowExecutionInfo): string {
  return wf.typedSearchAttributes.get(SearchAttribute.messageKey) ?? wf.workflowId.replace(/^rmsg:/, '');
}

/**
 * The message as the producer registered it: the first run's input (a continued run carries no body).
 */
async function firstInput(temporal: Client, wf: WorkflowExecutionInfo): Promise<MessageSpec | undefined> {
  const firstRunId = wf.raw.firstRunId || wf.runId;
  const history = await temporal.workflow.getHandle(wf.workflowId, firstRunId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) return undefined;
  const input = temporal.options.loadedDataConverter.payloadConverter.fromPayload<ReliableMessageInput>(payload);
  return input.message;
}

export function createAuditActivities(deps: Deps) {
  return {
    /** The audit as an activity (the schedule's and `rmsg audit`'s), heartbeating page by page. */
    async auditProjections(range: Range): Promise<AuditReport> {
      const ctx = Context.current();
      return runAudit(deps, range, () => ctx.heartbeat());
    },
  };
}
