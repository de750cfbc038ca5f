import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { createPrisma, MessageStatus, Prisma, type PrismaClient } from '../../src/db/prisma.js';

/** The generated client + MariaDB adapter against the real database: write, read, update, delete. */
describe('Prisma client over @prisma/adapter-mariadb', () => {
  const databaseUrl = loadConfig().databaseUrl;
  const key = `smoke-${randomUUID()}`;
  let prisma: PrismaClient;

  beforeAll(async () => {
    await applyMigrations(databaseUrl);
    prisma = createPrisma(databaseUrl, { connectionLimit: 2 });
  });

  afterAll(async () => {
    await prisma?.message.deleteMany({ where: { key } });
    await prisma?.$disconnect();
  });

  it('writes a message with a delivery and an event, and reads them back', async () => {
    await prisma.message.create({
      data: {
        key,
        topic: 'smoke-topic',
        tag: 'tagA',
        body: '{"orderId":42}',
        properties: { traceId: 't-1' },
        producerGroup: 'smoke-producer',
        status: MessageStatus.WAITING_CONFIRM,
        options: { resendAfterMs: 1000, maxSends: 3 },
        workflowId: `rmsg-${key}`,
        deliveries: { create: { consumerGroup: 'smoke-consumer' } },
        events: { create: { seq: 1, type: 'PREPARED', detail: { by: 'test' } } },
      },
    });

    const read = await prisma.message.findUnique({
      where: { key },
      include: { deliveries: true, events: { orderBy: { seq: 'asc' } } },
    });
    expect(read).toMatchObject({
      key,
      topic: 'smoke-topic',
      status: 'WAITING_CONFIRM',
      properties: { traceId: 't-1' },
      options: { resendAfterMs: 1000, maxSends: 3 },
      sendCount: 0,
      version: 0,
      confirmedAt: null,
    });
    expect(typeof read?.id).toBe('bigint');
    expect(read?.createdAt).toBeInstanceOf(Date);
    expect(read?.deliveries).toHaveLength(1);
    expect(read?.deliveries[0]).toMatchObject({ consumerGroup: 'smoke-consumer', status: 'PENDING', sendCount: 0 });
    expect(read?.events.map((e) => [e.seq, e.type, e.detail])).toEqual([[1, 'PREPARED', { by: 'test' }]]);
  });

  it('rejects a second event with the same seq (idempotent appends)', async () => {
    const duplicate = prisma.messageEvent.create({ data: { messageKey: key, seq: 1, type: 'PREPARED' } });
    await expect(duplicate).rejects.toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
    await expect(duplicate).rejects.toMatchObject({ code: 'P2002' });
  });

  it('updates status only from an older projection version', async () => {
    const confirmedAt = new Date();
    const newer = await prisma.message.updateMany({
      where: { key, version: { lt: 2 } },
      data: { status: MessageStatus.SENDING, confirmedAt, version: 2 },
    });
    const stale = await prisma.message.updateMany({
      where: { key, version: { lt: 1 } },
      data: { status: MessageStatus.WAITING_CONFIRM, version: 1 },
    });
    expect([newer.count, stale.count]).toEqual([1, 0]);
    const read = await prisma.message.findUniqueOrThrow({ where: { key } });
    expect(read).toMatchObject({ status: 'SENDING', version: 2 });
    expect(read.confirmedAt?.getTime()).toBe(confirmedAt.getTime());
  });

  it('deletes a message with its deliveries and events (ON DELETE CASCADE)', async () => {
    await prisma.message.delete({ where: { key } });
    expect(await prisma.message.count({ where: { key } })).toBe(0);
    expect(await prisma.delivery.count({ where: { messageKey: key } })).toBe(0);
    expect(await prisma.messageEvent.count({ where: { messageKey: key } })).toBe(0);
  });
});
