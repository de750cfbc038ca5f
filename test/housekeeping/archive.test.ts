import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../src/db/migrate.js';
import { createPrisma, type MessageStatus } from '../../src/db/prisma.js';
import { connectTemporalClient } from '../../src/temporal/connection.js';
import { HOUSEKEEPING_WORKFLOW, type HousekeepingInput, type HousekeepingResult } from '../../workflows/definitions.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { testConfig, uniqueId } from '../helpers/stack.js';

const prisma = createPrisma(testConfig.databaseUrl);
const DAY = 24 * 60 * 60_000;
const RETENTION = 7 * DAY;
const run = uniqueId('hk');
const key = (name: string) => `${run}-${name}`;
let service: TestService;
let client: Client;

/** Projection rows as the workflow would leave them, but ended long ago where `endedDaysAgo` says. */
async function insertMessage(name: string, status: MessageStatus, endedDaysAgo: number, withHistory = false) {
  const ended = new Date(Date.now() - endedDaysAgo * DAY);
  const created = new Date(ended.getTime() - 60_000);
  await prisma.message.create({
    data: {
      key: key(name),
      topic: 'hk-topic',
      tag: 'created',
      body: `{"name":"${name}"}`,
      properties: { source: 'test' },
      producerGroup: 'hk-producer',
      status,
      options: { maxSends: 4 },
      sendCount: 1,
      workflowId: `rmsg:${key(name)}`,
      version: 7,
      createdAt: created,
      finishedAt: status === 'FINISHED' ? ended : null,
      cancelledAt: status === 'CANCELLED' ? ended : null,
      deadAt: status === 'DEAD' ? ended : null,
      deliveries: withHistory
        ? {
            create: [
              { consumerGroup: 'stock', status: 'CONSUMED', sendCount: 1, receiveCount: 1, consumedAt: ended },
              { consumerGroup: 'points', status: 'CONSUMED', sendCount: 2, receiveCount: 2, consumedAt: ended },
            ],
          }
        : undefined,
      events: withHistory
        ? {
            create: [
              { seq: 1, type: 'PREPARED', createdAt: created },
              { seq: 2, type: 'CONSUMED', consumerGroup: 'stock', detail: { round: 1 }, createdAt: ended },
              { seq: 3, type: 'FINISHED', createdAt: ended },
            ],
          }
        : undefined,
    },
  });
}

/** Runs a housekeeping workflow on the test service's own task queue, following continue-as-new. */
function housekeeping(input: HousekeepingInput): Promise<HousekeepingResult> {
  return client.workflow.execute(HOUSEKEEPING_WORKFLOW, {
    taskQueue: service.config.temporal.taskQueue,
    workflowId: uniqueId('housekeeping'),
    args: [input],
  });
}

beforeAll(async () => {
  await applyMigrations(testConfig.databaseUrl);
  service = await startTestService();
  client = await connectTemporalClient(testConfig.temporal, testConfig.codec);
  await insertMessage('finished-old', 'FINISHED', 8, true);
  await insertMessage('cancelled-old', 'CANCELLED', 9);
  await insertMessage('finished-older', 'FINISHED', 10);
  await insertMessage('finished-recent', 'FINISHED', 0, true);
  await insertMessage('sending-old', 'SENDING', 30);
  await insertMessage('dead-old', 'DEAD', 30);
  await insertMessage('waiting-old', 'WAITING_CONFIRM', 30);
});

afterAll(async () => {
  const mine = { key: { startsWith: run } };
  await prisma.message.deleteMany({ where: mine });
  await prisma.messageArchive.deleteMany({ where: mine });
  await prisma.$disconnect();
  await client?.connection.close();
  await service?.stop();
});

describe('housekeepingWorkflow', () => {
  it('archives exactly the FINISHED and CANCELLED messages past the retention, with their history', async () => {
    // One batch per run: the totals must survive continue-as-new.
    const result = await housekeeping({ retentionMs: RETENTION, batchSize: 2, maxBatchesPerRun: 1 });
    // Three due messages in batches of two: two batches that move something, one that moves nothing.
    expect(result.moved).toBeGreaterThanOrEqual(3);
    expect(result.batches).toBeGreaterThanOrEqual(3);
    expect(result.cutoff).toBeLessThanOrEqual(Date.now() - RETENTION);

    const archived = await prisma.messageArchive.findMany({
      where: { key: { startsWith: run } },
      orderBy: { key: 'asc' },
    });
    expect(archived.map((a) => a.key)).toEqual([key('cancelled-old'), key('finished-old'), key('finished-older')]);
    const [cancelled, finished, older] = archived as [(typeof archived)[0], (typeof archived)[0], (typeof archived)[0]];
    // Oldest first: the first batch took the 10- and 9-day-old ones, the next one the 8-day-old one.
    expect(older.archivedAt.getTime()).toBeLessThan(finished.archivedAt.getTime());
    expect(cancelled.archivedAt.getTime()).toBeLessThan(finished.archivedAt.getTime());
    expect(finished).toMatchObject({
      status: 'FINISHED',
      topic: 'hk-topic',
      version: 7,
      properties: { source: 'test' },
    });
    expect(finished.deliveries).toEqual([
      expect.objectContaining({ consumerGroup: 'points', status: 'CONSUMED', sendCount: 2 }),
      expect.objectContaining({ consumerGroup: 'stock', status: 'CONSUMED', sendCount: 1 }),
    ]);
    expect(finished.events).toEqual([
      expect.objectContaining({ seq: 1, type: 'PREPARED' }),
      expect.objectContaining({ seq: 2, type: 'CONSUMED', consumerGroup: 'stock', detail: { round: 1 } }),
      expect.objectContaining({ seq: 3, type: 'FINISHED' }),
    ]);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', deliveries: [], events: [] });

    const left = await prisma.message.findMany({ where: { key: { startsWith: run } }, select: { key: true } });
    expect(left.map((m) => m.key).sort()).toEqual(
      ['dead-old', 'finished-recent', 'sending-old', 'waiting-old'].map(key).sort(),
    );
    expect(await prisma.delivery.count({ where: { messageKey: key('finished-old') } })).toBe(0);
    expect(await prisma.messageEvent.count({ where: { messageKey: key('finished-old') } })).toBe(0);
    expect(await prisma.delivery.count({ where: { messageKey: key('finished-recent') } })).toBe(2);
    expect(await prisma.messageEvent.count({ where: { messageKey: key('finished-recent') } })).toBe(3);
  });

  it('moves nothing the second time', async () => {
    const result = await housekeeping({ retentionMs: RETENTION, batchSize: 2 });
    expect(result).toMatchObject({ moved: 0, archived: 0, batches: 1 });
    expect(await prisma.messageArchive.count({ where: { key: { startsWith: run } } })).toBe(3);
    expect(await prisma.message.count({ where: { key: { startsWith: run } } })).toBe(4);
  });
});
