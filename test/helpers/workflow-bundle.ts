import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ReplayWorkerOptions, WorkflowBundle } from '@temporalio/worker';
import { tracingActive, tracingWorkflowSinks } from '../../src/tracing.js';
import { replayedFinalWrites } from '../../src/worker/final-writes.js';
import { bundleWorkflows, PREBUILT_BUNDLE_PATH, WORKFLOWS_PATH } from '../../src/worker/workflow-bundle.js';

let bundle: Promise<WorkflowBundle> | undefined;

/**
 * The workflow bundle, built once per test process (webpack takes seconds). `npm run build`'s bundle is
 * taken when it is newer than every workflow source; it has no tracing interceptors, so not with tracing on.
 */
export function sharedWorkflowBundle(): Promise<WorkflowBundle> {
  bundle ??= prebuiltBundleIsFresh()
    ? Promise.resolve({ code: readFileSync(PREBUILT_BUNDLE_PATH, 'utf8') })
    : bundleWorkflows();
  return bundle;
}

/** Options of a worker that replays message histories: the shared bundle, and every sink the workflow calls. */
export async function replayOptions(): Promise<ReplayWorkerOptions> {
  return {
    workflowBundle: await sharedWorkflowBundle(),
    sinks: { ...tracingWorkflowSinks(), ...replayedFinalWrites() },
  };
}

function prebuiltBundleIsFresh(): boolean {
  if (tracingActive()) return false;
  let built: number;
  try {
    built = statSync(PREBUILT_BUNDLE_PATH).mtimeMs;
  } catch {
    return false;
  }
  const sources = join(WORKFLOWS_PATH, '..');
  return readdirSync(sources, { recursive: true, encoding: 'utf8' }).every(
    (file) => statSync(join(sources, file)).mtimeMs < built,
  );
}
