import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { createServiceWorker, type ServiceWorker } from '../../src/worker/service-worker.js';
import { workflowIdForKey } from '../../workflows/definitions.js';
import { terminateRunningWorkflows } from '../helpers/running-workflows.js';
import { connectTestClient, eventually, FAST_TIMINGS, sharedWorkflowBundle } from '../helpers/service.js';
import { freshTopic, testLogger, uniqueId } from '../helpers/stack.js';

/**
 * Found by `npm run chaos` under CPU starvation: a message's first workflow task wrote the projection
 * row, then timed out; the retried task took its own row for an earlier message's (its clock, and so
 * its createdAt, had moved on) and the message went DEAD(KEY_REUSED) with its business committed.
 */
const config = loadConfig(process.env, {
  temporal: { ...loadConfig().temporal, taskQueue: uniqueId('rmsg-test') },
  timings: FAST_TIMINGS,
  timingFloorMs: 1,
});
const prisma = createPrisma(config.databaseUrl);
let crashing: ChildProcess | undefined;
let worker: ServiceWorker | undefined;
let client: ReliableMessageClient | undefined;

afterAll(async () => {
  crashing?.kill('SIGKILL');
  if (client) await terminateRunningWorkflows(client.temporal, config.temporal.taskQueue);
  await client?.close();
  await worker?.shutdown();
  await prisma.$disconnect();
});

describe('a first workflow task lost after the first projection write', () => {
  it('is retried by another worker: the message finds its own row, is not DEAD(KEY_REUSED), and is delivered', async () => {
    const topic = await freshTopic('first-task');
    const key = uniqueId('first-task');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/crash-after-first-write-worker.ts'], {
      env: { ...process.env, RMSG_TASK_QUEUE: config.temporal.taskQueue, RMSG_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    crashing = child;
    const written = new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the crashing worker exited early (${code})`)));
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes(`first projection written: ${key}`)) resolve();
      });
    });
    client = await connectTestClient(config);
    await client.prepare({ key, topic, body: 'an order' });
    await written;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    // The workflow task times out (10 s) and goes to the next worker on the queue.
    worker = await createServiceWorker(config, testLogger, { workflowBundle: await sharedWorkflowBundle() });
    void worker.run();
    const row = await prisma.message.findUniqueOrThrow({ where: { key } });
    // Started, scheduled, started, timed out, scheduled, started, completed: the retried task is done.
    const handle = client.temporal.workflow.getHandle(workflowIdForKey(key));
    await eventually(async () => (await handle.describe()).historyLength >= 7, 40_000, 'the retried first task');
    const state = await client.get(key);
    expect(state.status, state.lastError).toBe('WAITING_CONFIRM');
    expect(state.createdAt).toBe(row.createdAt.getTime());

    await client.confirm(key);
    await eventually(
      async () => (await prisma.message.findUnique({ where: { key } }))?.status === 'FINISHED',
      20_000,
      'FINISHED',
    );
  }, 90_000);
});
