import * as wf from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { Registration } from './definitions.js';

const { register } = wf.proxyActivities<Activities>({ startToCloseTimeout: '30s' });

/**
 * SDKs register subscriptions and check-backs through the service's worker, so they need only a
 * Temporal connection, never the service's database.
 */
export async function registerWorkflow(registration: Registration): Promise<void> {
  await register(registration);
}
