import * as wf from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { HousekeepingInput, HousekeepingResult } from './definitions.js';

/** One batch is one transaction; retried with backoff, as a failed batch changed nothing. */
const { archiveBatch } = wf.proxyActivities<Activities>({
  startToCloseTimeout: '3m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
});

/** Batches per run before continuing as new: about 6 history events each keeps a run near 3000. */
const DEFAULT_MAX_BATCHES_PER_RUN = 500;

/**
 * Archives FINISHED and CANCELLED messages that ended more than `retentionMs` ago, batch after
 * batch, until a batch moves nothing. The cutoff is fixed at the start (workflow time), so messages
 * ending while it runs wait for the next run and the loop always ends.
 */
export async function housekeepingWorkflow(input: HousekeepingInput): Promise<HousekeepingResult> {
  const cutoff = input.resume?.cutoff ?? Date.now() - input.retentionMs;
  const totals = input.resume?.totals ?? { moved: 0, archived: 0, batches: 0 };
  const maxBatches = input.maxBatchesPerRun ?? DEFAULT_MAX_BATCHES_PER_RUN;
  const show = (done: boolean) =>
    wf.setCurrentDetails(
      `${done ? 'done' : 'archiving'}: ${totals.moved} messages moved (${totals.archived} archive rows) in ` +
        `${totals.batches} batches of up to ${input.batchSize}; cutoff ${new Date(cutoff).toISOString()}`,
    );
  show(false);
  for (let batchesThisRun = 0; ; batchesThisRun++) {
    if (batchesThisRun >= maxBatches || wf.workflowInfo().continueAsNewSuggested) {
      await wf.continueAsNew<typeof housekeepingWorkflow>({ ...input, resume: { cutoff, totals } });
    }
    const { moved, archived } = await archiveBatch({ cutoff, batchSize: input.batchSize });
    totals.moved += moved;
    totals.archived += archived;
    totals.batches += 1;
    show(moved === 0);
    if (moved === 0) return { cutoff, ...totals };
  }
}
