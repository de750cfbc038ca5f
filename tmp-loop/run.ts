import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection } from '@temporalio/worker';
import { guardedWorkerClass } from '../src/worker/guarded-worker.js';

process.setSourceMapsEnabled(false);
const bundle = await bundleWorkflowCode({
  workflowsPath: new URL('./wf.ts', import.meta.url).pathname,
  logger: undefined as never,
});
if (process.env.NOMAP) {
  const pos = bundle.code.lastIndexOf('//# sourceMappingURL=data:');
  const empty = Buffer.from(
    JSON.stringify({ version: 3, file: 'wf.js', sources: [], names: [], mappings: '' }),
  ).toString('base64');
  (bundle as { code: string }).code =
    bundle.code.slice(0, pos) + '//# sourceMappingURL=data:application/json;base64,' + empty;
}
const tq = 'p-' + Date.now();
const W = guardedWorkerClass(() => process.exit(3));
const w = await W.create({
  connection: await NativeConnection.connect({ address: '127.0.0.1:7233' }),
  taskQueue: tq,
  workflowBundle: bundle,
});
void w.run();
const c = new Client({ connection: await Connection.connect({ address: '127.0.0.1:7233' }) });
for (const wfType of ['promises', 'asyncCalls', 'promises', 'asyncCalls'])
  for (const n of [0, 20000]) {
    const c0 = process.cpuUsage();
    await c.workflow.execute(wfType, { taskQueue: tq, workflowId: tq + wfType + Math.random(), args: [n] });
    const u = process.cpuUsage(c0);
    console.log(wfType, n, 'cpu', ((u.user + u.system) / 1000).toFixed(0), 'ms');
  }
process.exit(0);
