import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { createPrisma, type PrismaClient } from '../../src/db/prisma.js';
import { type ProjectionWrite, ProjectionWriter } from '../../src/db/projection-writer.js';
import { resolveTimings } from '../../src/timings.js';
import type { MessageSpec } from '../../workflows/definitions.js';
import * as M from '../../workflows/message-state.js';

/** The grouped projection writer against the real MariaDB, read back through Prisma. */
describe('ProjectionWriter', () => {
  const config = loadConfig();
  const run = randomUUID().slice(0, 8);
  let prisma: PrismaClient;
  let writer: ProjectionWriter;

  beforeAll(async () => {
    await applyMigrations(config.databaseUrl);
    prisma = createPrisma(config.databaseUrl, { connectionLimit: 2 });
    writer = new ProjectionWriter(config.databaseUrl);
  });

  afterAll(async () => {
    await prisma?.message.deleteMany({ where: { key: { startsWith: `pw-${run}` } } });
    await prisma?.messageArchive.deleteMany({ where: { key: { startsWith: `pw-${run}` } } });
    await prisma?.$disconnect();
    await writer?.close();
  });

  const specOf = (key: string): MessageSpec => ({
    key,
    topic: 'pw-topic',
    tag: 'pw',
    body: `body of ${key}`,
    properties: { trace: key },
    producerGroup: 'pw-producer',
  });
  const createdAt = Date.UTC(2026, 11, 2, 1, 2, 3, 456);
  /** A message as its workflow tracks it: prepared and confirmed, one subscriber. */
  const tracked = (key: string): M.Tracked => {
    const t: M.Tracked = {
      state: M.initialState(specOf(key), resolveTimings(config.timings, {}, config.timingFloorMs), createdAt, true),
      unsynced: [],
    };
    M.record(t, createdAt, 'PREPARED', { confirmed: true });
    return t;
  };
  const firstWrite = (t: M.Tracked): ProjectionWrite => ({
    state: structuredClone(t.state),
    deliveries: structuredClone(t.state.deliveries),
    events: [...t.unsynced],
    message: specOf(t.state.key),
  });
  const laterWrite = (t: M.Tracked, since: number): ProjectionWrite => ({
    state: structuredClone(t.state),
    deliveries: structuredClone(t.state.deliveries),
    events: t.unsynced.slice(since),
  });

  it('writes many messages at once, each with its row, deliveries and events, times in UTC', async () => {
    const messages = Array.from({ length: 100 }, (_, i) => tracked(`pw-${run}-many-${i}`));
    for (const t of messages) {
      M.snapshotSubscribers(t, createdAt + 10, ['g1', 'g2']);
      M.published(t, createdAt + 20, ['g1', 'g2'], `id-${t.state.key}`, undefined);
    }
    const outcomes = await Promise.all(messages.map((t) => writer.write(firstWrite(t))));
    for (const [i, o] of outcomes.entries())
      expect(o).toEqual({ kind: 'written', applied: true, newEvents: messages[i]?.unsynced.length });

    const row = await prisma.message.findUnique({
      where: { key: `pw-${run}-many-7` },
      include: { deliveries: { orderBy: { consumerGroup: 'asc' } }, events: { orderBy: { seq: 'asc' } } },
    });
    expect(row).toMatchObject({
      status: 'SENDING',
      topic: 'pw-topic',
      tag: 'pw',
      body: `body of pw-${run}-many-7`,
      properties: { trace: `pw-${run}-many-7` },
      producerGroup: 'pw-producer',
      sendCount: 1,
      workflowId: `rmsg:pw-${run}-many-7`,
      createdAt: new Date(createdAt),
      publishedAt: new Date(createdAt + 20),
    });
    expect(row?.options).toMatchObject({ maxSends: config.timings.maxSends });
    expect(row?.deliveries.map((d) => [d.consumerGroup, d.status, d.sendCount, d.lastSentAt])).toEqual([
      ['g1', 'PENDING', 1, new Date(createdAt + 20)],
      ['g2', 'PENDING', 1, new Date(createdAt + 20)],
    ]);
    expect(row?.events.map((e) => e.type)).toEqual(['PREPARED', 'SUBSCRIBERS', 'PUBLISHED']);
    expect(row?.events[0]?.detail).toEqual({ confirmed: true });
  });

  it('applies only newer versions: a stale or repeated write changes nothing and counts no event twice', async () => {
    const t = tracked(`pw-${run}-versions`);
    await writer.write(firstWrite(t));
    const sent = t.unsynced.length;
    M.snapshotSubscribers(t, createdAt + 10, ['g1']);
    M.published(t, createdAt + 20, ['g1'], 'id-1', undefined);
    const published = laterWrite(t, sent);
    expect(await writer.write(published)).toEqual({ kind: 'written', applied: true, newEvents: 2 });
    expect(await writer.write(published)).toEqual({ kind: 'written', applied: false, newEvents: 0 });

    const consumedAt = t.unsynced.length;
    M.applyAck(t, createdAt + 30, { group: 'g1', status: 'CONSUMED' });
    M.finish(t, createdAt + 31);
    const finished = laterWrite(t, consumedAt);
    // The finished write and a late copy of an older one race in one batch: the older loses.
    const [a, b] = await Promise.all([writer.write(finished), writer.write(published)]);
    expect(a).toEqual({ kind: 'written', applied: true, newEvents: 2 });
    expect(b).toEqual({ kind: 'written', applied: false, newEvents: 0 });
    const row = await prisma.message.findUnique({ where: { key: t.state.key }, include: { deliveries: true } });
    expect(row).toMatchObject({ status: 'FINISHED', version: t.state.version, finishedAt: new Date(createdAt + 31) });
    expect(row?.deliveries).toMatchObject([{ status: 'CONSUMED', consumedAt: new Date(createdAt + 30) }]);
    expect(await prisma.messageEvent.count({ where: { messageKey: t.state.key } })).toBe(t.state.eventSeq);
  });

  it("refuses a first write whose key is an earlier message's (its row or its archive entry); a retry of its own goes on", async () => {
    const t = tracked(`pw-${run}-Reused`);
    await writer.write(firstWrite(t));
    expect(await writer.write(firstWrite(t))).toEqual({ kind: 'written', applied: false, newEvents: 0 });

    const later = tracked(`pw-${run}-Reused`);
    later.state.createdAt = createdAt + 1000;
    expect(await writer.write(firstWrite(later))).toEqual({
      kind: 'keyReused',
      earlier: { createdAt: new Date(createdAt), status: 'SENDING' },
    });
    // Keys compare exactly: one that differs only in case is another message's.
    const caseVariant = tracked(`pw-${run}-reused`);
    caseVariant.state.createdAt = createdAt + 1000;
    expect(await writer.write(firstWrite(caseVariant))).toEqual({ kind: 'written', applied: true, newEvents: 1 });

    const archivedKey = `pw-${run}-archived`;
    await prisma.messageArchive.create({
      data: {
        id: BigInt(Date.now()),
        key: archivedKey,
        topic: 'pw-topic',
        body: '',
        producerGroup: 'pw-producer',
        status: 'FINISHED',
        options: {},
        workflowId: `rmsg:${archivedKey}`,
        createdAt: new Date(createdAt - 86_400_000),
        updatedAt: new Date(createdAt - 86_400_000),
        deliveries: [],
        events: [],
      },
    });
    const outcomes = await Promise.all([
      writer.write(firstWrite(tracked(archivedKey))),
      writer.write(firstWrite(tracked(`pw-${run}-beside-archived`))),
    ]);
    expect(outcomes).toEqual([
      { kind: 'keyReused', earlier: { createdAt: new Date(createdAt - 86_400_000), status: 'FINISHED' } },
      { kind: 'written', applied: true, newEvents: 1 },
    ]);
    expect(await prisma.message.findUnique({ where: { key: archivedKey } })).toBeNull();

    // The read made before a send's first publication answers as the first write does, writing nothing.
    expect(await writer.earlierMessage(`pw-${run}-Reused`, createdAt + 1000)).toEqual({
      createdAt: new Date(createdAt),
      status: 'SENDING',
    });
    expect(await writer.earlierMessage(`pw-${run}-Reused`, createdAt)).toBeUndefined();
    expect(await writer.earlierMessage(`pw-${run}-REUSED`, createdAt + 1000)).toBeUndefined();
    expect(await writer.earlierMessage(archivedKey, createdAt)).toEqual({
      createdAt: new Date(createdAt - 86_400_000),
      status: 'FINISHED',
    });
    expect(await writer.earlierMessage(`pw-${run}-never-written`, createdAt)).toBeUndefined();
  });

  it('resyncs a row to a workflow state: created, unchanged, updated, never back past a newer version', async () => {
    const t = tracked(`pw-${run}-resync`);
    expect(await writer.resync(t.state)).toBe('missing');
    M.snapshotSubscribers(t, createdAt + 10, ['g1']);
    expect(await writer.resync(t.state, specOf(t.state.key))).toBe('created');
    expect(await writer.resync(t.state)).toBe('unchanged');
    const older = structuredClone(t.state);
    M.published(t, createdAt + 20, ['g1'], 'id-1', undefined);
    expect(await writer.resync(t.state)).toBe('updated');
    expect(await writer.resync(older)).toBe('newer');
    const row = await prisma.message.findUnique({ where: { key: t.state.key }, include: { deliveries: true } });
    expect(row).toMatchObject({ status: 'SENDING', sendCount: 1, version: t.state.version });
    expect(row?.deliveries).toMatchObject([
      { consumerGroup: 'g1', sendCount: 1, lastSentAt: new Date(createdAt + 20) },
    ]);
  });
});
