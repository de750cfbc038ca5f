import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../../src/config.js';
import { runWithConcurrency } from '../concurrency.js';
import { historyCost } from '../history-cost.js';
import { ProcessSampler, type ProcessUsage } from '../process-stats.js';
import { sustainedRate } from '../stats.js';
import { floorAck, floorWorkflow } from './workflow.js';

export interface FloorResult {
  name: string;
  workflows: number;
  throughput: number;
  historyEventsPerWorkflow: number;
  actionsPerWorkflow: number;
  /** CPU of the floor's worker, its client (the bench process) and the Temporal server. */
  processes: ProcessUsage[];
}

/**
 * The Temporal floor: the cheapest workflow of a reliable message's shape (start, one signal, a timer,
 * complete), started and signalled by a client with the same concurrency and rate, on its own worker
 * process, on the same server. What one workflow per message costs before anything of ours.
 */
export async function runFloor(opts: {
  config: Config;
  runId: string;
  messages: number;
  concurrency: number;
  rate: number;
  temporalPid: number;
}): Promise<FloorResult> {
  const taskQueue = `rmsg-floor-${opts.runId}`;
  const worker = await startFloorWorker(taskQueue);
  const connection = await Connection.connect({ address: opts.config.temporal.address });
  const client = new Client({ connection, namespace: opts.config.temporal.namespace });
  const sampler = new ProcessSampler([
    { name: 'worker', pid: worker.process.pid ?? 0 },
    { name: 'client', pid: process.pid },
    { name: 'temporal', pid: opts.temporalPid },
  ]);
  const completions: number[] = [];
  const ids: string[] = [];
  try {
    sampler.begin();
    // Like the producer's send, a start returns at once; the ack comes once the first task has run (as a
    // consumer's does after the publication), so the timer is started, then cancelled.
    const acks: Promise<void>[] = [];
    await runWithConcurrency(
      opts.messages,
      opts.concurrency,
      async (i) => {
        const workflowId = `${taskQueue}-${i}`;
        ids.push(workflowId);
        const firstTask = worker.firstTaskOf(workflowId);
        const handle = await client.workflow.start(floorWorkflow, { taskQueue, workflowId });
        acks.push(
          (async () => {
            await firstTask;
            await handle.signal(floorAck);
            await handle.result();
            completions.push(Date.now());
          })(),
        );
      },
      opts.rate,
    );
    await Promise.all(acks);
    const processes = sampler.end();
    const sample = ids.slice(Math.floor(ids.length / 2), Math.floor(ids.length / 2) + 10);
    const costs = await Promise.all(sample.map((id) => historyCost(client, id)));
    const mean = (xs: number[]) => Math.round((xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length)) * 100) / 100;
    return {
      name: 'Temporal floor (start, signal, timer, complete)',
      workflows: completions.length,
      throughput: Math.round(sustainedRate(completions) * 10) / 10,
      historyEventsPerWorkflow: mean(costs.map((c) => c.events)),
      actionsPerWorkflow: mean(costs.map((c) => c.actions)),
      processes,
    };
  } finally {
    await connection.close();
    const exited = new Promise((r) => worker.process.once('exit', r));
    worker.process.kill('SIGTERM');
    await exited;
  }
}

interface FloorWorker {
  process: ChildProcess;
  /** Resolves once the worker says the workflow's first task has run. */
  firstTaskOf(workflowId: string): Promise<void>;
}

async function startFloorWorker(taskQueue: string): Promise<FloorWorker> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./worker.ts', import.meta.url).pathname, taskQueue],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  process.on('exit', () => child.kill('SIGKILL'));
  const waiting = new Map<string, () => void>();
  const done = new Set<string>();
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`floor worker exited with ${code}`)));
    createInterface({ input: child.stdout as Readable }).on('line', (line) => {
      if (line.includes('floor worker running')) resolve();
      const id = /^first task (.+)$/.exec(line)?.[1];
      if (id === undefined) return;
      done.add(id);
      waiting.get(id)?.();
    });
  });
  return {
    process: child,
    firstTaskOf: (workflowId) =>
      new Promise<void>((resolve) => {
        if (done.has(workflowId)) resolve();
        else waiting.set(workflowId, resolve);
      }),
  };
}
