import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { logger } from '../../src/logger.js';
import { ensureTopic, type TopicMessageType } from '../../src/rocketmq/topics.js';

/** The local stack's configuration (scripts/stack.sh up), as tests see it. */
export const testConfig = loadConfig();
export const testLogger = logger.child({ test: true });

/** A short id unique to this run, usable in topic, group and key names. */
export function uniqueId(prefix = 't'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Creates a fresh topic for one test, so tests never see each other's messages. */
export async function freshTopic(prefix = 'topic', type: TopicMessageType = 'NORMAL'): Promise<string> {
  const topic = uniqueId(prefix);
  await ensureTopic(testConfig.rocketmq, topic, type);
  return topic;
}
