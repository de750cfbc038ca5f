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
});
