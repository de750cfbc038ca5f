import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bundleWorkflowCode, type WorkflowBundle, type WorkflowBundlePath } from '@temporalio/worker';
import type { Logger } from '../logger.js';
import { DIST_DIR, PROJECT_ROOT, RUNNING_COMPILED } from '../paths.js';
import { tracingActive } from '../tracing.js';

/** The workflows are always bundled from their TypeScript sources, so the source map points there. */
export const WORKFLOWS_PATH = join(PROJECT_ROOT, 'workflows', 'index.ts');

/** Written by `npm run build`; the compiled service loads it instead of bundling at every start. */
export const PREBUILT_BUNDLE_PATH = join(DIST_DIR, 'workflow-bundle.js');

/**
 * In a bundle only while tracing is on (they cost CPU and memory even when their spans are dropped). They
 * add headers and spans, never commands, so histories replay with or without them.
 */
const TRACING_INTERCEPTOR_MODULES = [
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/**
 * Bundles the workflows in this process (webpack, a few seconds); the code carries an inline source map.
 * With `traced`, the bundle carries the OpenTelemetry workflow interceptors.
 */
export function bundleWorkflows(traced = tracingActive()): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: traced ? TRACING_INTERCEPTOR_MODULES : [],
    logger: undefined,
  });
}

/**
 * The bundle the service worker runs. Compiled code loads the prebuilt bundle; running from the
 * sources (development) bundles them now, as a prebuilt bundle there could be older than the sources.
 */
export async function serviceWorkflowBundle(log: Logger): Promise<WorkflowBundle | WorkflowBundlePath> {
  const traced = tracingActive();
  // The prebuilt bundle has no tracing interceptors: with tracing on, bundle now.
  if (!traced && RUNNING_COMPILED && existsSync(PREBUILT_BUNDLE_PATH)) return { codePath: PREBUILT_BUNDLE_PATH };
  if (RUNNING_COMPILED)
    log.warn({ expected: PREBUILT_BUNDLE_PATH }, 'no prebuilt workflow bundle (npm run build); bundling at start');
  return bundleWorkflowsInChildProcess(traced);
}

/**
 * Bundles the workflows in a short-lived child process and returns the bundle's code. webpack's
 * few hundred MB then leave with the child instead of staying in the long-running worker's heap.
 */
export async function bundleWorkflowsInChildProcess(traced: boolean): Promise<WorkflowBundle> {
  const dir = mkdtempSync(join(tmpdir(), 'rmsg-bundle-'));
  try {
    const out = join(dir, 'workflows.js');
    const loader = RUNNING_COMPILED ? [] : ['--import', 'tsx'];
    const args = [...loader, fileURLToPath(import.meta.url), out, ...(traced ? ['--traced'] : [])];
    await promisify(execFile)(process.execPath, args, {
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: readFileSync(out, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run as a script by `npm run build` and bundleWorkflowsInChildProcess: workflow-bundle.(ts|js) OUT_FILE [--traced]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: workflow-bundle.js OUT_FILE');
  writeFileSync(out, (await bundleWorkflows(process.argv.includes('--traced'))).code);
}
