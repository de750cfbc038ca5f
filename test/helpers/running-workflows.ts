import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../../src/config.js';
import { connectTemporalClient } from '../../src/temporal/connection.js';

/** Pause between listings, while terminated runs may still be listed as running. */
const VISIBILITY_SETTLES_MS = 200;

/**
 * Terminates the workflows still running on a test's own task queue: nobody polls it after the test, and
 * the local Temporal is shared with later runs and the bench. Lists again until none is left (visibility
 * may lag a start by a moment), within `timeoutMs`. Returns how many it terminated.
 */
export async function terminateRunningWorkflows(
  temporal: Client,
  taskQueue: string,
  timeoutMs = 10_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
  let terminated = 0;
  while (Date.now() < deadline) {
    const terminations: Promise<boolean>[] = [];
    for await (const run of temporal.workflow.list({ query })) {
      const handle = temporal.workflow.getHandle(run.workflowId, run.runId);
      terminations.push(handle.terminate('test teardown').then(() => true, ignoreClosed));
    }
    if (terminations.length === 0) break;
    terminated += (await Promise.all(terminations)).filter(Boolean).length;
    await new Promise((r) => setTimeout(r, VISIBILITY_SETTLES_MS));
  }
  return terminated;
}

/** The same with a client of its own, for teardowns that hold only the service's config. */
export async function terminateServiceWorkflows(config: Config): Promise<number> {
  const temporal = await connectTemporalClient(config.temporal, config.codec);
  try {
    return await terminateRunningWorkflows(temporal, config.temporal.taskQueue);
  } finally {
    await temporal.connection.close();
  }
}

/** For calls to a run that may have closed meanwhile (then nothing is left to do): false for a closed one. */
export function ignoreClosed(err: unknown): false {
  if (!(err instanceof WorkflowNotFoundError)) throw err;
  return false;
}
