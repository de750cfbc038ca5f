import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** Bundles the workflows in this process (webpack, a few seconds). */
export function bundleWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: undefined });
}

/**
 * Bundles the workflows in a short-lived child process and returns the bundle's code. webpack's
 * few hundred MB then leave with the child instead of staying in the long-running worker's heap.
 */
export async function bundleWorkflowsInChildProcess(): Promise<WorkflowBundle> {
  const out = join(mkdtempSync(join(tmpdir(), 'rmsg-bundle-')), 'workflows.js');
  await promisify(execFile)(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), out], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return { code: readFileSync(out, 'utf8') };
}

// Run as a script by bundleWorkflowsInChildProcess: node workflow-bundle.ts OUT_FILE
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: workflow-bundle.ts OUT_FILE');
  writeFileSync(out, (await bundleWorkflows()).code);
}
