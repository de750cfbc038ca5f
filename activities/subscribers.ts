import type { SubscriberSnapshots } from '../src/db/registry.js';
import type { DependencyGate } from '../src/dependency-gate.js';

export function createSubscriberActivities({
  subscribers,
  mysql,
}: {
  subscribers: SubscriberSnapshots;
  mysql: DependencyGate;
}) {
  return {
    /** The consumer groups whose subscription matches the topic and tag now: the message's subscribers. */
    async snapshotSubscribers({ topic, tag }: { topic: string; tag?: string }): Promise<string[]> {
      return mysql.call(() => subscribers.of(topic, tag));
    },
  };
}
