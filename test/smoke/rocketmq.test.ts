import { FilterExpression, Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { afterAll, describe, expect, it } from 'vitest';
import { rocketmqClientLogger } from '../../src/rocketmq/client-logger.js';
import { freshTopic, testConfig, testLogger, uniqueId } from '../helpers/stack.js';

describe('RocketMQ smoke', () => {
  const clients: { shutdown(): Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.shutdown()));
  });

  it('sends a message that a SimpleConsumer receives and acks', async () => {
    const topic = await freshTopic('smoke');
    const group = uniqueId('smoke-group');
    const common = {
      endpoints: testConfig.rocketmq.endpoints,
      namespace: '',
      logger: rocketmqClientLogger(testLogger),
    };
    // Subscribe first: a new group starts from the latest offset.
    const consumer = new SimpleConsumer({
      ...common,
      consumerGroup: group,
      subscriptions: new Map([[topic, new FilterExpression('smoke')]]),
      awaitDuration: 3000,
    });
    await consumer.startup();
    clients.push(consumer);
    const producer = new Producer({ ...common, topic });
    await producer.startup();
    clients.push(producer);

    const key = uniqueId('key');
    const receipt = await producer.send({ topic, tag: 'smoke', keys: [key], body: Buffer.from('hello') });
    expect(receipt.messageId).toMatch(/\w+/);

    const deadline = Date.now() + 30_000;
    let found: Awaited<ReturnType<SimpleConsumer['receive']>>[number] | undefined;
    while (!found && Date.now() < deadline) {
      const batch = await consumer.receive(16, 15_000);
      for (const m of batch) {
        await consumer.ack(m);
        if (m.keys.includes(key)) found = m;
      }
    }
    expect(found?.body.toString()).toBe('hello');
    expect(found?.tag).toBe('smoke');
    expect(found?.messageId).toBe(receipt.messageId);
  });
});
