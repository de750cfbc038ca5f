import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { testConfig, uniqueId } from '../helpers/stack.js';

describe('Temporal smoke', () => {
  it('runs a workflow with an activity on the real server', async () => {
    const taskQueue = uniqueId('smoke-tq');
    const nativeConnection = await NativeConnection.connect({ address: testConfig.temporal.address });
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: testConfig.temporal.namespace,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('../fixtures/smoke-workflow.ts', import.meta.url)),
      activities: { greet: async (name: string) => `hello ${name}` },
    });
    const connection = await Connection.connect({ address: testConfig.temporal.address });
    try {
      const client = new Client({ connection, namespace: testConfig.temporal.namespace });
      const result = await worker.runUntil(
        client.workflow.execute('smokeWorkflow', { taskQueue, workflowId: uniqueId('smoke'), args: ['temporal'] }),
      );
      expect(result).toBe('hello temporal!');
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  });

  it("runs with the local stack's dynamic config (docker/temporal/dynamic-config.yaml)", () => {
    const flags = execFileSync(
      'bash',
      [fileURLToPath(new URL('../../scripts/stack.sh', import.meta.url)), 'temporal-flags'],
      {
        encoding: 'utf8',
      },
    )
      .split('\n')
      .filter((line) => line.length > 0);
    // A workflow task must not wait in history for the next read of its transfer queue (20 a second by default).
    expect(flags).toContain('history.transferProcessorMaxPollRPS=200');
    const port = testConfig.temporal.address.split(':').at(-1);
    const servers = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .flatMap((pid) => {
        try {
          return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')];
        } catch {
          return []; // exited meanwhile
        }
      })
      .filter((argv) => argv.includes('start-dev') && argv[argv.indexOf('--port') + 1] === port);
    expect(servers).toHaveLength(1);
    const argv = servers[0] ?? [];
    for (let i = 0; i < flags.length; i += 2) {
      expect(flags[i]).toBe('--dynamic-config-value');
      expect(argv[argv.indexOf(flags[i + 1] ?? '') - 1]).toBe('--dynamic-config-value');
    }
  });
});
