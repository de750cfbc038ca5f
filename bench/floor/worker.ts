/**
 * The Temporal floor's worker, a process of its own so its CPU is measured like the service worker's:
 * `tsx bench/floor/worker.ts <task queue>`; prints "floor worker running" once it polls.
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config.js';

const taskQueue = process.argv[2];
if (!taskQueue) throw new Error('usage: floor/worker.ts <task queue>');
const { temporal } = loadConfig();
const connection = await NativeConnection.connect({ address: temporal.address });
const worker = await Worker.create({
  connection,
  namespace: temporal.namespace,
  taskQueue,
  workflowsPath: fileURLToPath(new URL('./workflow.ts', import.meta.url)),
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => worker.shutdown());
console.log('floor worker running');
await worker.run();
await connection.close();
