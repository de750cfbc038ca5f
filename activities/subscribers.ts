import type { DependencyGate } from '../src/dependency-gate.js';
import { tagMatches } from '../src/tag-expression.js';
import type { ActivityDeps } from './deps.js';

export function createSubscriberActivities({
  prisma,
  mysql,
}: Pick<ActivityDeps, 'prisma'> & { mysql: DependencyGate }) {
  return {
    /** The consumer groups whose subscription matches the topic and tag now: the message's subscribers. */
    async snapshotSubscribers({ topic, tag }: { topic: string; tag?: string }): Promise<string[]> {
      const subscriptions = await mysql.call(() =>
        prisma.subscription.findMany({
          where: { topic, enabled: true },
          select: { consumerGroup: true, tagExpression: true },
          orderBy: { consumerGroup: 'asc' },
        }),
      );
      return subscriptions.filter((s) => tagMatches(s.tagExpression, tag)).map((s) => s.consumerGroup);
    },
  };
}
