import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReliableMessageClient } from '../../src/client/index.js';
import { ReliableConsumer } from '../../src/consumer/index.js';
import { createPrisma } from '../../src/db/prisma.js';
import { LogCapture } from '../consumer/helpers.js';
import { type BusinessDb, createBusinessDb } from '../helpers/business-db.js';
import { eventually, startTestService, type TestService } from '../helpers/service.js';
import { freshTopic, testConfig, uniqueId } from '../helpers/stack.js';

/**
 * The SDKs' start while the reliable-message service is down (no worker on its task queue), and
 * their check-back concurrency.
 */
const prisma = createPrisma(testConfig.databaseUrl);
const logs = new LogCapture();
const stops: (() => Promise<void>)[] = [];
let db: BusinessDb;

beforeAll(async () => {
  db = await createBusinessDb('sdk_start');
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await db?.drop();
  await prisma.$disconnect();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connect(taskQueue: string, producerGroup: string): Promise<ReliableMessageClient> {
  const client = await ReliableMessageClient.connect({
    temporal: testConfig.temporal,
    taskQueue,
    producerGroup,
    registrationTimeoutMs: 2000,
    log: logs.log,
  });
  stops.push(() => client.close());
  return client;
}

/** Resolves to 'hung' when `start` takes longer than `ms`. */
async function within<T>(ms: number, start: Promise<T>): Promise<T | 'hung'> {
  return Promise.race([start, sleep(ms).then(() => 'hung' as const)]);
}

describe('SDK start while the service is down', () => {
  it('serveCheckBack and ReliableConsumer.start return after the registration timeout; the registrations land once the service is up', async () => {
    const taskQueue = uniqueId('rmsg-down'); // no service worker polls it yet
    const group = uniqueId('producer');
    const producer = await connect(taskQueue, group);
    const t0 = Date.now();
    const server = await within(15_000, producer.serveCheckBack(group, { pool: db.pool }));
    expect(server).not.toBe('hung');
    expect(Date.now() - t0).toBeLessThan(6000);
    if (server !== 'hung') stops.push(() => server.stop());

    const topic = await freshTopic('down');
    const consumerGroup = uniqueId('stock');
    const consumer = await within(
      20_000,
      ReliableConsumer.start({
        group: consumerGroup,
        topic,
        handler: async () => undefined,
        idempotency: { pool: db.pool },
        rocketmq: testConfig.rocketmq,
        temporal: testConfig.temporal,
        serviceTaskQueue: taskQueue,
        registrationTimeoutMs: 2000,
        log: logs.log,
      }),
    );
    expect(consumer).not.toBe('hung');
    if (consumer !== 'hung') stops.push(() => consumer.stop());
    const warning =
      'the service has not confirmed the registration (is its worker running?); starting anyway and retrying in the background';
    // One line per registration that waited: the producer's check-back, the consumer's, the subscription.
    expect(logs.lines.filter((l) => l.msg === warning)).toHaveLength(3);

    // The service comes up: the registrations made in the meantime are recorded without a restart.
    const service: TestService = await startTestService({}, { taskQueue });
    stops.push(() => service.stop());
    await eventually(
      async () => (await prisma.producer.findUnique({ where: { producerGroup: group } }))?.checkBackTaskQueue,
      30_000,
      'the producer check-back registration',
    );
    await eventually(
      () => prisma.subscription.findFirst({ where: { topic, consumerGroup } }),
      30_000,
      'the subscription',
    );
    await eventually(
      async () => (await prisma.consumer.findUnique({ where: { consumerGroup } }))?.checkBackTaskQueue,
      30_000,
      'the consumer check-back registration',
    );
    await eventually(
      async () => logs.lines.filter((l) => l.msg === 'the service confirmed the registration').length === 3,
      10_000,
      'three confirmations logged',
    );
  }, 90_000);

  it('registering the same thing twice while the service is down makes one run, which has an execution timeout', async () => {
    const taskQueue = uniqueId('rmsg-down');
    const group = uniqueId('producer');
    const producer = await connect(taskQueue, group);
    const registration = { kind: 'producer' as const, group, checkBackTaskQueue: 'q' };
    const first = producer.register(registration).catch((err: unknown) => err);
    await sleep(50);
    const second = producer.register(registration).catch((err: unknown) => err);
    const runsOnQueue = async () => {
      const runs = [];
      for await (const w of producer.temporal.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) runs.push(w);
      return runs;
    };
    await eventually(async () => (await runsOnQueue()).length > 0, 10_000, 'the registration run');
    await sleep(1500); // visibility settles
    const runs = await runsOnQueue();
    expect(runs).toHaveLength(1);
    const handle = producer.temporal.workflow.getHandle(runs[0]?.workflowId ?? '');
    const described = await handle.describe();
    expect(described.status.name).toBe('RUNNING');
    // Bounded (60 s), so a run nobody takes does not wait for a worker forever.
    expect(Number(described.raw.executionConfig?.workflowExecutionTimeout?.seconds)).toBe(60);
    await handle.terminate('test done');
    expect(await first).toBeInstanceOf(Error);
    expect(await second).toBeInstanceOf(Error);
  });
});

describe('check-back concurrency', () => {
  it('a burst of check-backs runs at most `concurrency` (default 2) at once', async () => {
    const service = await startTestService({ checkBackAfterMs: 200, checkBackBackoff: 1, maxCheckBackIntervalMs: 200 });
    stops.push(() => service.stop());
    const group = uniqueId('producer');
    const producer = await connect(service.config.temporal.taskQueue, group);
    let running = 0;
    let most = 0;
    let answered = 0;
    const server = await producer.serveCheckBack(group, async () => {
      running += 1;
      most = Math.max(most, running);
      await sleep(300);
      running -= 1;
      answered += 1;
      return 'UNKNOWN';
    });
    stops.push(() => server.stop());
    const topic = await freshTopic('burst');
    const keys = Array.from({ length: 8 }, () => uniqueId('k'));
    await Promise.all(keys.map((key) => producer.prepare({ key, topic, body: 'x' })));
    await eventually(async () => answered >= 12, 30_000, 'twelve check-backs answered');
    for (const key of keys) await producer.cancel(key, 'test done');
    expect(most).toBe(2);
  }, 60_000);
});
