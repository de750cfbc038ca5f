import * as wf from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { AuditInput, AuditReport } from './operator-definitions.js';

/** One long activity that heartbeats page by page; retried from the start, as the audit only reads (and re-syncs idempotently). */
const { auditProjections } = wf.proxyActivities<Activities>({
  startToCloseTimeout: '1h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 5 },
});

/** The projection audit, as `rmsg audit` and the daily `rmsg-audit` Schedule run it. */
export async function auditWorkflow(input: AuditInput): Promise<AuditReport> {
  const to = input.to ?? Date.now();
  const from = input.from ?? to - (input.windowMs ?? 0);
  const report = await auditProjections({ from, to, repair: input.repair, triggeredBy: input.triggeredBy });
  const counts = Object.entries(report.findings).map(([kind, f]) => `${kind} ${f.count} (repaired ${f.repaired})`);
  wf.setCurrentDetails(`audit of ${report.checked} messages: ${counts.join(', ')}`);
  return report;
}
