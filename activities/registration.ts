import type { Registration } from '../workflows/definitions.js';
import type { ActivityDeps } from './deps.js';

export function createRegistrationActivities({ prisma }: Pick<ActivityDeps, 'prisma'>) {
  return {
    /** Records a subscription, a producer's or a consumer's check-back. Idempotent (upserts). */
    async register(r: Registration): Promise<void> {
      if (r.kind === 'subscription') {
        const fields = { tagExpression: r.tagExpression || '*', enabled: true };
        await prisma.subscription.upsert({
          where: { topic_consumerGroup: { topic: r.topic, consumerGroup: r.consumerGroup } },
          create: { topic: r.topic, consumerGroup: r.consumerGroup, ...fields },
          update: fields,
        });
        return;
      }
      const checkBack = { checkBackUrl: r.checkBackUrl ?? null, checkBackTaskQueue: r.checkBackTaskQueue ?? null };
      if (r.kind === 'producer') {
        await prisma.producer.upsert({
          where: { producerGroup: r.group },
          create: { producerGroup: r.group, ...checkBack },
          update: checkBack,
        });
      } else {
        const fields = { ...checkBack, lastSeenAt: new Date() };
        await prisma.consumer.upsert({
          where: { consumerGroup: r.group },
          create: { consumerGroup: r.group, ...fields },
          update: fields,
        });
      }
    },
  };
}
