import { ApplicationFailure } from '@temporalio/activity';
import {
  BadRequestException,
  ForbiddenException,
  NotFoundException,
  PayloadTooLargeException,
  PaymentRequiredException,
  RequestHeaderFieldsTooLargeException,
  UnauthorizedException,
  UnsupportedException,
} from 'rocketmq-client-nodejs';
import type { DependencyGate } from '../src/dependency-gate.js';
import { injectTraceContext, inSpan, SpanKind } from '../src/tracing.js';
import { FailureType, MessageProperty, type MessageSpec } from '../workflows/definitions.js';
import type { ActivityDeps } from './deps.js';

export interface PublishInput {
  key: string;
  /** The consumer groups this publication is for; other subscribers of the topic skip it. */
  groups: string[];
  round: number;
  delayMs?: number;
  message: MessageSpec;
}

/**
 * RocketMQ's answers that no retry cures: the request itself is refused (bad topic, type mismatch, size,
 * property), the topic does not exist, or access is denied. An operator fixes the cause and resends.
 * Everything else (timeouts, internal errors, throttling, a broker or proxy that is down) is transient.
 */
const REJECTIONS = [
  BadRequestException,
  NotFoundException,
  PayloadTooLargeException,
  RequestHeaderFieldsTooLargeException,
  UnsupportedException,
  ForbiddenException,
  UnauthorizedException,
  PaymentRequiredException,
];
/** The client's own checks before sending (type mismatch with the topic, body size) throw TypeError. */
export function isRejection(err: unknown): boolean {
  return err instanceof TypeError || REJECTIONS.some((type) => err instanceof type);
}

export function createPublishActivities({
  publisher,
  log,
  rocketmq,
}: Pick<ActivityDeps, 'publisher' | 'log'> & { rocketmq: DependencyGate }) {
  return {
    /**
     * Publishes the message to RocketMQ. A rejection fails for good (the workflow makes the message
     * DEAD(REJECTED)); any other error is retried by the workflow.
     */
    async publishMessage({ key, groups, round, delayMs, message: m }: PublishInput): Promise<{ messageId: string }> {
      const properties: Record<string, string> = {
        ...(m.properties ?? {}),
        [MessageProperty.key]: key,
        [MessageProperty.groups]: groups.join(','),
        [MessageProperty.round]: String(round),
        [MessageProperty.producerGroup]: m.producerGroup,
      };
      try {
        // The message carries its trace (W3C traceparent): the consumer's handler span continues it.
        const { messageId } = await inSpan(
          `publish ${m.topic}`,
          {
            kind: SpanKind.PRODUCER,
            attributes: { 'messaging.system': 'rocketmq', 'messaging.destination.name': m.topic },
          },
          () => {
            injectTraceContext(properties);
            return rocketmq.call(
              () =>
                publisher.publish({
                  topic: m.topic,
                  tag: m.tag,
                  keys: [key],
                  body: Buffer.from(m.body, 'utf8'),
                  properties,
                  delayMs,
                  messageGroup: m.orderKey,
                }),
              (err) => !isRejection(err),
            );
          },
        );
        log.debug({ messageKey: key, messageId, groups, round }, 'published');
        return { messageId };
      } catch (err) {
        if (!isRejection(err)) throw err;
        const reason = `RocketMQ rejected the message: ${err instanceof Error ? err.message : String(err)}`;
        log.warn({ messageKey: key, topic: m.topic, err: reason }, 'publish rejected; the message is DEAD(REJECTED)');
        throw ApplicationFailure.create({ type: FailureType.publishRejected, message: reason, nonRetryable: true });
      }
    },
  };
}
