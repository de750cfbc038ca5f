import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { createPrisma } from '../../src/db/prisma.js';
import { deleteTopic, ensureTopic } from '../../src/rocketmq/topics.js';
import { ackSignal, type MessageState, workflowIdForKey } from '../../workflows/definitions.js';
import { connectTestClient, eventually, startTestService, type TestService, waitForState } from '../helpers/service.js';
import { freshTopic, testConfig, uniqueId } from '../helpers/stack.js';

const prisma = createPrisma(testConfig.databaseUrl);
let service: TestService;
let client: ReliableMessageClient;
/** Keys whose next publishes fail as if the broker were unreachable, and how many times. */
const brokerDownFor = new Map<string, number>();
/** Keys whose publishes hang (a broker that accepts connections but never answers) until released. */
const brokerHangs = new Set<string>();

function flakyBroker(activities: Activities): Activities {
  const publish = activities.publishMessage;
  return {
    ...activities,
    async publishMessage(input) {
      if (brokerHangs.has(input.key)) await new Promise((r) => setTimeout(r, 20_000));
      const left = brokerDownFor.get(input.key) ?? 0;
      if (left > 0) {
        brokerDownFor.set(input.key, left - 1);
        throw new Error('14 UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:8081');
      }
      return publish(input);
    },
  };
}

const stateOf = (key: string, ok: (s: MessageState) => boolean, what: string, timeoutMs?: number) =>
  waitForState(client, key, ok, what, timeoutMs);

beforeAll(async () => {
  service = await startTestService({}, { wrapActivities: flakyBroker });
  client = await connectTestClient(service.config);
});

afterAll(async () => {
  await client?.close();
  await service?.stop();
  await prisma.$disconnect();
});

describe('publishing that fails', () => {
  it('a topic deleted before confirm: DEAD(REJECTED) with the cause shown; recreate it and resend to finish', async () => {
    const topic = await freshTopic('rejected');
    const group = uniqueId('sub');
    await client.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: group });
    const key = uniqueId('rej');
    await client.prepare({ key, topic, body: 'order 1' });
    await deleteTopic(testConfig.rocketmq, topic);
    await client.confirm(key);

    const dead = await stateOf(key, (s) => s.status === 'DEAD', 'DEAD(REJECTED)');
    expect(dead.deadReason).toBe('REJECTED');
    expect(dead.lastError).toMatch(/RocketMQ rejected the message/);
    const row = await eventually(
      () => prisma.message.findFirst({ where: { key, status: 'DEAD' }, include: { events: true } }),
      10_000,
      'the DEAD row',
    );
    expect(row).toMatchObject({ deadReason: 'REJECTED', lastError: dead.lastError });
    expect(row.events.map((e) => e.type)).toContain('DEAD');

    await ensureTopic(testConfig.rocketmq, topic);
    // RocketMQ's proxy remembers a missing route for a while: an operator resends until it publishes.
    const fixedAt = Date.now();
    await eventually(
      async () => {
        const s = await client.get(key);
        if (s.status === 'DEAD') {
          expect((await client.resend(key)).status).toBe('SENDING');
          await new Promise((r) => setTimeout(r, 2000));
        }
        return s.publishedAt !== undefined;
      },
      90_000,
      'published after the topic is back',
    );
    console.log(`published ${Date.now() - fixedAt} ms after the topic was recreated`);
    await client.temporal.workflow
      .getHandle(workflowIdForKey(key))
      .signal(ackSignal, { group, status: 'CONSUMED', received: true });
    await stateOf(key, (s) => s.status === 'FINISHED', 'FINISHED');
  });

  it('a broker that is unreachable for a while: retried on timers, the error shown once, then published', async () => {
    const topic = await freshTopic('flaky');
    const key = uniqueId('flaky');
    brokerDownFor.set(key, 3);
    const sent = Date.now();
    await client.send({ key, topic, body: 'order 2' });
    expect(Date.now() - sent).toBeLessThan(3000);
    await eventually(
      async () => (await prisma.message.findUnique({ where: { key } }))?.lastError?.includes('UNAVAILABLE'),
      10_000,
      'the publish error in the projection',
    );
    const done = await stateOf(key, (s) => s.status === 'FINISHED', 'FINISHED after the broker is back', 30_000);
    expect(done.lastError).toBeUndefined();
    const events = await prisma.messageEvent.findMany({ where: { messageKey: key }, orderBy: { seq: 'asc' } });
    expect(events.filter((e) => e.type === 'PUBLISH_FAILED')).toHaveLength(1);
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['PREPARED', 'NO_SUBSCRIBERS', 'PUBLISH_FAILED', 'PUBLISHED', 'FINISHED']),
    );
    // Three failed tries cost a few events each, not a growing history inside one workflow task.
    const history = await client.temporal.workflow.getHandle(workflowIdForKey(key)).fetchHistory();
    expect(history.events?.length ?? 0).toBeLessThan(60);
  });

  it('a broker that hangs does not hold the producer: confirm returns once recorded, publication follows later', async () => {
    const topic = await freshTopic('hang');
    const key = uniqueId('hang');
    brokerHangs.add(key);
    await client.prepare({ key, topic, body: 'order 5' });
    const confirming = Date.now();
    expect((await client.confirm(key)).status).toBe('SENDING');
    expect(Date.now() - confirming).toBeLessThan(3000);
    await stateOf(key, (s) => (s.lastError ?? '').length > 0, 'the hang shown as the error', 15_000);
    brokerHangs.delete(key);
    await stateOf(key, (s) => s.status === 'FINISHED', 'FINISHED once the broker answers', 40_000);
  }, 60_000);

  it('a message nobody subscribes to is still published (plain RocketMQ consumers get it), then FINISHED', async () => {
    const topic = await freshTopic('nobody');
    const key = uniqueId('nobody');
    await client.send({ key, topic, body: 'order 3' });
    const done = await stateOf(key, (s) => s.status === 'FINISHED', 'FINISHED');
    expect(done.sendCount).toBe(1);
    expect(done.publishedAt).toBeDefined();
    const types = (await prisma.messageEvent.findMany({ where: { messageKey: key } })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['NO_SUBSCRIBERS', 'PUBLISHED', 'FINISHED']));
  });

  it('the projection exists from the first workflow task: a prepared message is never a 404', async () => {
    const topic = await freshTopic('exists');
    const key = uniqueId('exists');
    await client.prepare({ key, topic, body: 'order 4' });
    const row = await eventually(() => prisma.message.findUnique({ where: { key } }), 3000, 'the row');
    expect(row.status).toBe('WAITING_CONFIRM');
    await client.cancel(key, 'test done');
  });
});
