import * as wf from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RedriveInput, RedriveTotals } from './operator-definitions.js';

/** Pages per run before continuing as new: about 6 history events each keeps a run near 3000. */
const MAX_PAGES_PER_RUN = 500;

/**
 * A bulk redrive: applies one action (resend, confirm or cancel) to every message of a selection, one
 * page per activity call at a limited rate, carrying the cursor (the last message id done) through
 * restarts and continue-as-new. A 10,000-message redrive is 100 activity calls, not 10,000 workflows.
 */
export async function redriveWorkflow(input: RedriveInput): Promise<RedriveTotals> {
  // A page takes pageSize / rate seconds; the timeout leaves room for slow updates, the heartbeat
  // catches a worker that died mid-page sooner.
  const pageMs = (input.pageSize / input.ratePerSecond) * 1000;
  const { redrivePage } = wf.proxyActivities<Activities>({
    startToCloseTimeout: Math.ceil(pageMs * 3 + 60_000),
    heartbeatTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  });
  let cursorId = input.resume?.cursorId ?? '0';
  const totals: RedriveTotals = input.resume?.totals ?? { done: 0, skipped: 0, failed: 0 };
  const show = (state: string) =>
    wf.setCurrentDetails(
      `${state}: ${input.action} ${totals.done} done, ${totals.skipped} skipped, ${totals.failed} failed; ` +
        `${input.ratePerSecond}/s; after message id ${cursorId}`,
    );
  show('running');
  for (let pages = 0; ; pages++) {
    if (pages >= MAX_PAGES_PER_RUN || wf.workflowInfo().continueAsNewSuggested) {
      await wf.continueAsNew<typeof redriveWorkflow>({ ...input, resume: { cursorId, totals } });
    }
    const page = await redrivePage({
      redriveId: input.redriveId,
      filter: input.filter,
      action: input.action,
      ratePerSecond: input.ratePerSecond,
      maxMessageId: input.maxMessageId,
      cursorId,
      pageSize: input.pageSize,
      before: totals,
    });
    totals.done += page.done;
    totals.skipped += page.skipped;
    totals.failed += page.failed;
    if (page.cursorId === null) {
      show('completed');
      return totals;
    }
    cursorId = page.cursorId;
    show('running');
  }
}
