import { fileURLToPath } from 'node:url';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTemporalClient, temporalConnectionOptions } from '../../src/temporal/connection.js';
import { guardedWorkerClass } from '../../src/worker/guarded-worker.js';
import { releaseSignal } from '../fixtures/waiting-workflow.js';
import { testConfig, uniqueId } from '../helpers/stack.js';

const workflowsPath = fileURLToPath(new URL('../fixtures/waiting-workflow.ts', import.meta.url));
const neverStuck = () => {
  throw new Error('no activation should be stuck here');
};

/**
 * The service's worker class runs workflow code without the SDK's per-promise stack capture unless asked:
 * workflows still run to completion, and Temporal UI's stack-trace query says why it has nothing to show.
 */
describe('workflow stack traces on the service worker class', () => {
  let connection: NativeConnection;
  let client: Awaited<ReturnType<typeof connectTemporalClient>>;
  beforeAll(async () => {
    connection = await NativeConnection.connect(temporalConnectionOptions(testConfig.temporal));
    client = await connectTemporalClient(testConfig.temporal, testConfig.codec);
  });
  afterAll(async () => {
    await client?.connection.close();
    await connection?.close();
  });

  async function stackTraceOf(stackTraces: boolean | undefined): Promise<{ trace?: string; error?: string }> {
    const taskQueue = uniqueId('rmsg-stack');
    const worker = await guardedWorkerClass(neverStuck, stackTraces === undefined ? {} : { stackTraces }).create({
      connection,
      namespace: testConfig.temporal.namespace,
      taskQueue,
      workflowsPath,
    });
    return worker.runUntil(async () => {
      const handle = await client.workflow.start('waitingWorkflow', { taskQueue, workflowId: uniqueId('wf-stack') });
      try {
        const trace = await handle.query<string>('__stack_trace');
        return { trace };
      } catch (err) {
        return { error: String(err) };
      } finally {
        await handle.signal(releaseSignal);
        expect(await handle.result()).toBe('released');
      }
    });
  }

  it('leaves the per-promise stack capture out by default', async () => {
    const { trace, error } = await stackTraceOf(undefined);
    expect(trace).toBeUndefined();
    expect(error).toMatch(/stack traces are not enabled/);
  });

  it('keeps it when stack traces are asked for', async () => {
    const { trace, error } = await stackTraceOf(true);
    expect(error).toBeUndefined();
    expect(trace).toMatch(/waiting-workflow/);
  });
});
