import { ApplicationFailure } from '@temporalio/activity';
import { injectTraceContext, inSpan, SpanKind } from '../src/tracing.js';
import { MessageProperty, type MessageSpec } from '../workflows/definitions.js';
import type { ActivityDeps } from './deps.js';

export interface PublishInput {
  key: string;
  /** The consumer groups this publication is for; other subscribers of the topic skip it. */
  groups: string[];
  round: number;
  delayMs?: number;
  /** The message itself when the workflow still has it; otherwise it is read from the projection. */
  message?: MessageSpec;
}

export function createPublishActivities({
  prisma,
  publisher,
  log,
}: Pick<ActivityDeps, 'prisma' | 'publisher' | 'log'>) {
  async function readMessage(key: string): Promise<MessageSpec> {
    const row = await prisma.message.findUnique({ where: { key } });
    if (!row) throw ApplicationFailure.nonRetryable(`message ${key} has no projection row to publish from`);
    return {
      key,
      topic: row.topic,
      tag: row.tag ?? undefined,
      body: row.body,
      properties: (row.properties as Record<string, string> | null) ?? undefined,
      producerGroup: row.producerGroup,
      orderKey: row.orderKey ?? undefined,
    };
  }

  return {
    /**
     * Publishes the message to RocketMQ. Errors propagate and the workflow's retry policy tries again.
     */
    async publishMessage({ key, groups, round, delayMs, message }: PublishInput): Promise<{ messageId: string }> {
      const m = message ?? (await readMessage(key));
      const properties: Record<string, string> = {
        ...(m.properties ?? {}),
        [MessageProperty.key]: key,
        [MessageProperty.groups]: groups.join(','),
        [MessageProperty.round]: String(round),
        [MessageProperty.producerGroup]: m.producerGroup,
      };
      // The message carries its trace (W3C traceparent): the consumer's handler span continues it.
      const { messageId } = await inSpan(
        `publish ${m.topic}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: { 'messaging.system': 'rocketmq', 'messaging.destination.name': m.topic },
        },
        async () => {
          injectTraceContext(properties);
          return publisher.publish({
            topic: m.topic,
            tag: m.tag,
            keys: [key],
            body: Buffer.from(m.body, 'utf8'),
            properties,
            delayMs,
            messageGroup: m.orderKey,
          });
        },
      );
      log.debug({ messageKey: key, messageId, groups, round }, 'published');
      return { messageId };
    },
  };
}
