import { FilterExpression, type MessageView, SimpleConsumer } from 'rocketmq-client-nodejs';
import { rocketmqClientLogger } from '../../src/rocketmq/client-logger.js';
import { eventually } from './eventually.js';
import { testConfig, testLogger, uniqueId } from './stack.js';

/**
 * Records everything published to a topic, through a consumer group of its own: the witness of what
 * the service really sent to RocketMQ. Start it before anything is published.
 */
export class TopicProbe {
  readonly seen: MessageView[] = [];
  private running = true;
  private loop: Promise<void> = Promise.resolve();

  private constructor(private readonly consumer: SimpleConsumer) {}

  static async start(topic: string): Promise<TopicProbe> {
    const consumer = new SimpleConsumer({
      endpoints: testConfig.rocketmq.endpoints,
      namespace: '',
      consumerGroup: uniqueId('probe'),
      subscriptions: new Map([[topic, FilterExpression.SUB_ALL]]),
      awaitDuration: 1000,
      logger: rocketmqClientLogger(testLogger),
    });
    await consumer.startup();
    const probe = new TopicProbe(consumer);
    probe.loop = probe.poll();
    return probe;
  }

  /** Publications carrying this message key. */
  forKey(key: string): MessageView[] {
    return this.seen.filter((m) => m.keys.includes(key));
  }

  /** Waits until at least `count` publications carry this key; returns them. */
  published(key: string, timeoutMs: number, what = `${key} on the topic`, count = 1): Promise<MessageView[]> {
    return eventually(
      async () => {
        const sends = this.forKey(key);
        return sends.length >= count && sends;
      },
      timeoutMs,
      what,
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.consumer.shutdown();
  }

  private async poll(): Promise<void> {
    while (this.running) {
      try {
        for (const m of await this.consumer.receive(32, 10_000)) {
          this.seen.push(m);
          await this.consumer.ack(m);
        }
      } catch {
        // long-poll timeouts and transient errors: poll again
      }
    }
  }
}
