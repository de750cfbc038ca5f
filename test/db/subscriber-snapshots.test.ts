import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { hotPathPool } from '../../src/db/mysql-pool.js';
import { createPrisma, type PrismaClient } from '../../src/db/prisma.js';
import { createRegistry, SubscriberSnapshots } from '../../src/db/registry.js';

/** The hot path's subscriber read against the real MariaDB, with subscriptions made through the registry. */
describe('SubscriberSnapshots', () => {
  const config = loadConfig();
  const run = randomUUID().slice(0, 8);
  const topicA = `ss-${run}-a`;
  const topicB = `ss-${run}-b`;
  let prisma: PrismaClient;
  let snapshots: SubscriberSnapshots;

  beforeAll(async () => {
    await applyMigrations(config.databaseUrl);
    prisma = createPrisma(config.databaseUrl, { connectionLimit: 2 });
    snapshots = new SubscriberSnapshots(hotPathPool(config.databaseUrl, undefined, 1));
    const registry = createRegistry(prisma);
    await registry.putSubscription(topicA, 'g-all', { tagExpression: '*', enabled: true });
    await registry.putSubscription(topicA, 'g-created', { tagExpression: 'created || paid', enabled: true });
    await registry.putSubscription(topicA, 'g-off', { tagExpression: '*', enabled: false });
    await registry.putSubscription(topicB, 'g-b', { tagExpression: 'shipped', enabled: true });
  });

  afterAll(async () => {
    await prisma?.subscription.deleteMany({ where: { topic: { in: [topicA, topicB] } } });
    await prisma?.$disconnect();
    await snapshots?.close();
  });

  it('answers lookups asked together, each by its own topic and tag, enabled subscriptions only', async () => {
    const answers = await Promise.all([
      snapshots.of(topicA, 'created'),
      snapshots.of(topicA, 'shipped'),
      snapshots.of(topicA, undefined),
      snapshots.of(topicB, 'shipped'),
      snapshots.of(topicB, 'created'),
      snapshots.of(`ss-${run}-none`, 'created'),
    ]);
    expect(answers).toEqual([['g-all', 'g-created'], ['g-all'], ['g-all'], ['g-b'], [], []]);
  });

  it('sees a subscription made a moment before it is asked', async () => {
    expect(await snapshots.of(topicB, 'late')).toEqual([]);
    await createRegistry(prisma).putSubscription(topicB, 'g-late', { tagExpression: 'late', enabled: true });
    expect(await snapshots.of(topicB, 'late')).toEqual(['g-late']);
  });
});
