import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { type BusinessDb, createBusinessDb } from '../helpers/business-db.js';
import { connectTestClient, eventually, startTestService, type TestService } from '../helpers/service.js';
import { freshTopic, testConfig, uniqueId } from '../helpers/stack.js';

const fixture = fileURLToPath(new URL('./fixtures/consume-and-exit.ts', import.meta.url));
let service: TestService;
let client: ReliableMessageClient;
let db: BusinessDb;

beforeAll(async () => {
  service = await startTestService();
  client = await connectTestClient(service.config);
  db = await createBusinessDb('consumer_exit');
});

afterAll(async () => {
  await client?.close();
  await service?.stop();
  await db?.drop();
});

describe('ReliableConsumer process lifecycle', () => {
  it('a process that consumes and stops exits by itself: stop() leaves no handle open', async () => {
    const topic = await freshTopic('cons-exit');
    const group = uniqueId('stock');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: {
        ...process.env,
        TOPIC: topic,
        GROUP: group,
        RMSG_TASK_QUEUE: service.config.temporal.taskQueue,
        BUSINESS_DB_URL: db.url,
        TEMPORAL_ADDRESS: testConfig.temporal.address,
        TEMPORAL_NAMESPACE: testConfig.temporal.namespace,
        ROCKETMQ_ENDPOINTS: testConfig.rocketmq.endpoints,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await eventually(
        async () => stdout.includes('READY') || child.exitCode !== null,
        30_000,
        'the consumer process to start',
      );
      expect(stdout, stderr).toContain('READY');

      const key = uniqueId('order');
      await client.send({ key, topic, body: 'x' });
      await eventually(
        async () => stdout.includes(`STOPPED ${key}`),
        20_000,
        'the consumer process to consume and stop',
      );
      const t0 = Date.now();
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
      expect(code, `exit after stop (stderr: ${stderr.slice(-2000)})`).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect((await client.get(key)).status).toBe('FINISHED');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
