import { ApplicationFailure } from '@temporalio/activity';
import { MessageProperty } from '../workflows/definitions.js';
import type { ActivityDeps } from './deps.js';

export interface PublishInput {
  key: string;
  /** The consumer groups this publication is for; other subscribers of the topic skip it. */
  groups: string[];
  round: number;
  delayMs?: number;
}

export function createPublishActivities({
  prisma,
  publisher,
  log,
}: Pick<ActivityDeps, 'prisma' | 'publisher' | 'log'>) {
  return {
    /**
     * Publishes the message (read from its projection, so the body is not repeated in workflow
     * history) to RocketMQ. Errors propagate and the workflow's retry policy tries again.
     */
    async publishMessage({ key, groups, round, delayMs }: PublishInput): Promise<{ messageId: string }> {
      const m = await prisma.message.findUnique({ where: { key } });
      if (!m) throw ApplicationFailure.nonRetryable(`message ${key} has no projection row to publish from`);
      const properties: Record<string, string> = {
        ...((m.properties as Record<string, string> | null) ?? {}),
        [MessageProperty.key]: key,
        [MessageProperty.groups]: groups.join(','),
        [MessageProperty.round]: String(round),
        [MessageProperty.producerGroup]: m.producerGroup,
      };
      const { messageId } = await publisher.publish({
        topic: m.topic,
        tag: m.tag ?? undefined,
        keys: [key],
        body: Buffer.from(m.body, 'utf8'),
        properties,
        delayMs,
        messageGroup: m.orderKey ?? undefined,
      });
      log.debug({ messageKey: key, messageId, groups, round }, 'published');
      return { messageId };
    },
  };
}
