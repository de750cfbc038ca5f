import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Registration } from '../../workflows/definitions.js';
import { newCheckBackSecret } from '../check-back-signature.js';
import { ValidationError } from '../errors.js';
import { tagExpressionSchema, tagMatches } from '../tag-expression.js';
import { type Consumer, Prisma, type PrismaClient, type Producer, type Subscription } from './prisma.js';

export type CheckBackKind = 'producer' | 'consumer';
export type CheckBackRow = Producer | Consumer;

/** What an operator (or the group, over the API) sets of a check-back; undefined leaves a field as it is. */
export interface CheckBackChange {
  checkBackUrl?: string | null;
  checkBackSecret?: string;
}

/** Where the service asks a group's check-back. */
export interface CheckBackRoute {
  /** An HTTP check-back URL (producers and consumers in any language). */
  url?: string;
  /** The task queue where the group's SDK serves its check-back activity. */
  taskQueue?: string;
}

type CheckBackFields = CheckBackChange & { checkBackTaskQueue?: string | null; lastSeenAt?: Date };

export interface SubscriptionChange {
  tagExpression: string;
  enabled: boolean;
}

/**
 * The one home of subscriptions and check-back registrations: every read and write of
 * rm_subscription, rm_producer and rm_consumer, and the rule of who decides which field. The hot read,
 * a message's subscribers, is SubscriberSnapshots below.
 *
 * Two writers, one rule: an SDK registration (at every SDK start) never undoes an operator's
 * decision made through the API.
 * - subscription `tagExpression`: the SDK's, because it is the filter the consumer's code receives
 *   with at the broker; the API sets it for consumers without the SDK.
 * - subscription `enabled`: the API's. An SDK creates a subscription enabled and never touches it
 *   again, so a subscription an operator disabled stays disabled through restarts.
 * - `checkBackUrl` and `checkBackSecret`: the API's only (a URL is useless without the secret that
 *   signs its calls, which the API makes and answers once). The SDK never writes them.
 * - `checkBackTaskQueue`: the SDK's only (where its process serves the check-back). An HTTP URL, when
 *   there is one, is asked first.
 * - consumer `lastSeenAt`: when the group's SDK last registered; an API call is not a sighting.
 */
export function createRegistry(prisma: PrismaClient) {
  const subscriptionKey = (topic: string, consumerGroup: string) => ({ topic_consumerGroup: { topic, consumerGroup } });

  /** The two check-back tables differ only in the name of their key column. */
  const checkBacks = (kind: CheckBackKind) =>
    kind === 'producer'
      ? {
          list: () => prisma.producer.findMany({ orderBy: { producerGroup: 'asc' } }),
          get: (group: string) => prisma.producer.findUnique({ where: { producerGroup: group } }),
          create: (group: string, data: CheckBackFields) =>
            prisma.producer.create({ data: { ...data, producerGroup: group } }),
          update: (group: string, data: CheckBackFields) =>
            prisma.producer.update({ where: { producerGroup: group }, data }),
          giveSecret: (group: string, secret: string) =>
            prisma.producer.updateMany({
              where: { producerGroup: group, checkBackSecret: null },
              data: { checkBackSecret: secret },
            }),
          remove: (group: string) => prisma.producer.deleteMany({ where: { producerGroup: group } }),
        }
      : {
          list: () => prisma.consumer.findMany({ orderBy: { consumerGroup: 'asc' } }),
          get: (group: string) => prisma.consumer.findUnique({ where: { consumerGroup: group } }),
          create: (group: string, data: CheckBackFields) =>
            prisma.consumer.create({ data: { ...data, consumerGroup: group } }),
          update: (group: string, data: CheckBackFields) =>
            prisma.consumer.update({ where: { consumerGroup: group }, data }),
          giveSecret: (group: string, secret: string) =>
            prisma.consumer.updateMany({
              where: { consumerGroup: group, checkBackSecret: null },
              data: { checkBackSecret: secret },
            }),
          remove: (group: string) => prisma.consumer.deleteMany({ where: { consumerGroup: group } }),
        };

  /** Give `lastSeenAt` for consumers only: the producer table has no such column. */
  const saveCheckBack = (kind: CheckBackKind, group: string, create: CheckBackFields, update: CheckBackFields) => {
    const rows = checkBacks(kind);
    return createOrUpdate<CheckBackRow>(
      () => rows.get(group),
      () => rows.create(group, create),
      () => rows.update(group, update),
    );
  };

  const saveSubscription = (
    topic: string,
    consumerGroup: string,
    create: SubscriptionChange,
    update: Partial<SubscriptionChange>,
  ) =>
    createOrUpdate(
      () => prisma.subscription.findUnique({ where: subscriptionKey(topic, consumerGroup) }),
      () => prisma.subscription.create({ data: { topic, consumerGroup, ...create } }),
      () => prisma.subscription.update({ where: subscriptionKey(topic, consumerGroup), data: update }),
    );

  return {
    /** An SDK's registration at its start, by the rule above. Idempotent. */
    async recordSdkRegistration(r: Registration): Promise<void> {
      if (r.kind === 'subscription') {
        const parsed = tagExpressionSchema.safeParse(r.tagExpression);
        if (!parsed.success) throw new ValidationError('tagExpression', parsed.error.issues[0]?.message ?? '');
        const tagExpression = parsed.data || '*';
        await saveSubscription(r.topic, r.consumerGroup, { tagExpression, enabled: true }, { tagExpression });
        return;
      }
      const fields = {
        checkBackTaskQueue: r.checkBackTaskQueue ?? null,
        ...(r.kind === 'consumer' ? { lastSeenAt: new Date() } : {}),
      };
      await saveCheckBack(r.kind, r.group, fields, fields);
    },

    listSubscriptions(filter: { topic?: string; consumerGroup?: string }): Promise<Subscription[]> {
      return prisma.subscription.findMany({ where: filter, orderBy: [{ topic: 'asc' }, { consumerGroup: 'asc' }] });
    },

    getSubscription(topic: string, consumerGroup: string): Promise<Subscription | null> {
      return prisma.subscription.findUnique({ where: subscriptionKey(topic, consumerGroup) });
    },

    /** Creates or replaces a subscription (the API's PUT). */
    async putSubscription(
      topic: string,
      consumerGroup: string,
      change: SubscriptionChange,
    ): Promise<{ row: Subscription; created: boolean }> {
      return saveSubscription(topic, consumerGroup, change, change);
    },

    /** False when there was no such subscription. */
    async removeSubscription(topic: string, consumerGroup: string): Promise<boolean> {
      const { count } = await prisma.subscription.deleteMany({ where: { topic, consumerGroup } });
      return count > 0;
    },

    listCheckBacks(kind: CheckBackKind): Promise<CheckBackRow[]> {
      return checkBacks(kind).list();
    },

    getCheckBack(kind: CheckBackKind, group: string): Promise<CheckBackRow | null> {
      return checkBacks(kind).get(group);
    },

    /** The group's check-back, or null when it has none: its HTTP URL first, else its SDK's task queue. */
    async checkBackRouteOf(kind: CheckBackKind, group: string): Promise<CheckBackRoute | null> {
      const row = await checkBacks(kind).get(group);
      if (row?.checkBackUrl) return { url: row.checkBackUrl };
      if (row?.checkBackTaskQueue) return { taskQueue: row.checkBackTaskQueue };
      return null;
    },

    /** Signs the group's HTTP check-back calls; read only where the call is made. */
    async checkBackSecretOf(kind: CheckBackKind, group: string): Promise<string | null> {
      return (await checkBacks(kind).get(group))?.checkBackSecret ?? null;
    },

    /**
     * Registers a group's HTTP check-back (the API's PUT). A URL given without a secret to a group
     * that has none gets a new one, returned as `madeSecret` to answer once; of concurrent
     * registrations only the one whose secret is kept answers it.
     */
    async putCheckBack(
      kind: CheckBackKind,
      group: string,
      change: CheckBackChange,
    ): Promise<{ row: CheckBackRow; created: boolean; madeSecret?: string }> {
      const secret = change.checkBackUrl && !change.checkBackSecret ? newCheckBackSecret() : undefined;
      const saved = await saveCheckBack(kind, group, secret ? { ...change, checkBackSecret: secret } : change, change);
      if (!secret) return saved;
      if (saved.created) return { ...saved, madeSecret: secret };
      if (saved.row.checkBackSecret) return saved;
      const rows = checkBacks(kind);
      const given = (await rows.giveSecret(group, secret)).count > 0;
      const row = (await rows.get(group)) ?? saved.row;
      return given ? { row, created: false, madeSecret: secret } : { row, created: false };
    },

    /** False when the group was not registered. */
    async removeCheckBack(kind: CheckBackKind, group: string): Promise<boolean> {
      const { count } = await checkBacks(kind).remove(group);
      return count > 0;
    },
  };
}

export type Registry = ReturnType<typeof createRegistry>;

/**
 * Updates the row when it exists, else creates it; a create that lost the race to a concurrent one
 * updates instead, so writers of a new registration never fail on each other.
 */
async function createOrUpdate<T>(
  find: () => Promise<unknown>,
  create: () => Promise<T>,
  update: () => Promise<T>,
): Promise<{ row: T; created: boolean }> {
  if (await find()) return { row: await update(), created: false };
  try {
    return { row: await create(), created: true };
  } catch (err) {
    if (!(err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002')) throw err;
    return { row: await update(), created: false };
  }
}

/** A lookup that fails after this, so the lookups behind it go on (a database gone silent). */
const SNAPSHOT_QUERY_TIMEOUT_MS = 2000;

interface SnapshotAsked {
  topic: string;
  tag: string | undefined;
  resolve: (groups: string[]) => void;
  reject: (err: unknown) => void;
}

/**
 * A message's subscribers as it is confirmed: the consumer groups whose enabled subscription matches its
 * topic and tag now. Every send and confirm takes one, so the lookups asked while one is under way go
 * together as the next query (plain mysql2), each answered from a read that began after it was asked.
 */
export class SubscriberSnapshots {
  private asked: SnapshotAsked[] = [];
  private reading = false;

  constructor(private readonly pool: Pool) {}

  close(): Promise<void> {
    return this.pool.end();
  }

  of(topic: string, tag: string | undefined): Promise<string[]> {
    return new Promise((resolve, reject) => {
      this.asked.push({ topic, tag, resolve, reject });
      if (!this.reading) {
        this.reading = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.asked.length > 0) {
      const batch = this.asked;
      this.asked = [];
      try {
        // Topics compare exactly (the column's binary collation, as RocketMQ's names); groups in its order.
        const [rows] = await this.pool.query<RowDataPacket[]>({
          sql: 'SELECT topic, consumer_group, tag_expression FROM rm_subscription WHERE enabled = 1 AND topic IN (?) ORDER BY consumer_group',
          values: [[...new Set(batch.map((a) => a.topic))]],
          timeout: SNAPSHOT_QUERY_TIMEOUT_MS,
        });
        for (const a of batch) {
          a.resolve(
            rows
              .filter((r) => r.topic === a.topic && tagMatches(r.tag_expression, a.tag))
              .map((r) => r.consumer_group as string),
          );
        }
      } catch (err) {
        for (const a of batch) a.reject(err);
      }
    }
    this.reading = false;
  }
}
