import type { Registry } from '../src/db/registry.js';
import type { DependencyGate } from '../src/dependency-gate.js';

export function createSubscriberActivities({ registry, mysql }: { registry: Registry; mysql: DependencyGate }) {
  return {
    /** The consumer groups whose subscription matches the topic and tag now: the message's subscribers. */
    async snapshotSubscribers({ topic, tag }: { topic: string; tag?: string }): Promise<string[]> {
      return mysql.call(() => registry.subscribersOf(topic, tag));
    },
  };
}
