/**
 * The Temporal floor's worker, a process of its own so its CPU is measured like the service worker's:
 * `tsx bench/floor/worker.ts <task queue>`; prints "floor worker running" once it polls, then
 * "first task <workflow id>" as each workflow's first task has run.
 */
import { fileURLToPath } from 'node:url';
import { type InjectedSinks, NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../src/config.js';
import { logger } from '../../src/logger.js';
import { installTemporalRuntime } from '../../src/temporal/runtime.js';
import { guardedWorkerClass } from '../../src/worker/guarded-worker.js';
import type { FloorSinks } from './workflow.js';

// Run like the compiled service worker: the same worker class, and stacks not source-mapped by node.
process.setSourceMapsEnabled(false);

const taskQueue = process.argv[2];
if (!taskQueue) throw new Error('usage: floor/worker.ts <task queue>');
const { temporal } = loadConfig();
// The SDK's own logs as the service worker has them: pino, warnings and above.
installTemporalRuntime(logger);
const connection = await NativeConnection.connect({ address: temporal.address });
const worker = await guardedWorkerClass((stuck) => {
  console.error('floor workflow stuck', stuck);
  process.exit(70);
}).create({
  connection,
  namespace: temporal.namespace,
  taskQueue,
  workflowsPath: fileURLToPath(new URL('./workflow.ts', import.meta.url)),
  sinks: {
    firstTask: {
      // Called once the activation is done (never on replay): its commands, the timer among them, are sent.
      done: {
        fn: (info) => {
          process.stdout.write(`first task ${info.workflowId}\n`);
        },
      },
    },
  } satisfies InjectedSinks<FloorSinks>,
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => worker.shutdown());
console.log('floor worker running');
await worker.run();
await connection.close();
