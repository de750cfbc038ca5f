import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { ReliableConsumer } from '../../src/consumer/index.js';
import { ValidationError } from '../../src/errors.js';
import { connectTestClient, eventually } from '../helpers/service.js';
import { freshTopic, testConfig, testLogger, uniqueId } from '../helpers/stack.js';
import { type ApiHarness, startApiHarness } from './harness.js';

/**
 * The two writers of registrations: an operator through the HTTP API, and the SDKs, which register
 * at every start through the service's worker. An SDK start must not undo an operator's decision.
 */
let api: ApiHarness;
let sdk: ReliableMessageClient;

beforeAll(async () => {
  api = await startApiHarness();
  sdk = await connectTestClient(api.config);
});

afterAll(async () => {
  await sdk?.close();
  await api?.stop();
});

const operatorUrl = 'http://127.0.0.1:1/check';

/** The consumer SDK's start, which registers the group's subscription with its tags. */
const startConsumer = (group: string, topic: string, tags: string[]) =>
  ReliableConsumer.start({
    group,
    topic,
    tags,
    handler: async () => undefined,
    rocketmq: testConfig.rocketmq,
    temporal: testConfig.temporal,
    serviceTaskQueue: api.config.temporal.taskQueue,
    log: testLogger,
  });

describe('an SDK restart after an operator registered through the API', () => {
  it("keeps the producer's HTTP check-back URL and its secret (serveCheckBack registers its task queue only)", async () => {
    const group = uniqueId('producer');
    const registered = await api.call('PUT', `/v1/producers/${group}`, { body: { checkBackUrl: operatorUrl } });
    expect(registered.status).toBe(201);
    const secret = registered.body.checkBackSecret;
    expect(secret).toEqual(expect.any(String));

    const server = await sdk.serveCheckBack(group, async () => 'UNKNOWN');
    await server.stop();

    const after = await api.call('GET', `/v1/producers/${group}`);
    expect(after.body).toMatchObject({ checkBackUrl: operatorUrl, signed: true });
    expect(after.body.checkBackTaskQueue).toEqual(expect.any(String));
    expect((await api.prisma.producer.findUnique({ where: { producerGroup: group } }))?.checkBackSecret).toBe(secret);
  });

  it("keeps the consumer's HTTP check-back URL and secret; lastSeenAt is the SDK's, an API call leaves it", async () => {
    const group = uniqueId('consumer');
    const registered = await api.call('PUT', `/v1/consumers/${group}`, { body: { checkBackUrl: operatorUrl } });
    expect(registered.body.lastSeenAt).toBeNull();

    await sdk.register({ kind: 'consumer', group, checkBackTaskQueue: `${group}-check-back` });

    const after = await api.call('GET', `/v1/consumers/${group}`);
    expect(after.body).toMatchObject({
      checkBackUrl: operatorUrl,
      signed: true,
      checkBackTaskQueue: `${group}-check-back`,
    });
    expect(after.body.lastSeenAt).toEqual(expect.any(String));
    const again = await api.call('PUT', `/v1/consumers/${group}`, { body: { checkBackUrl: null } });
    expect(again.body).toMatchObject({ checkBackUrl: null, lastSeenAt: after.body.lastSeenAt });
  });

  it('a consumer restart leaves a subscription the operator disabled out of new messages; its tags follow the SDK', async () => {
    const topic = await freshTopic('registry');
    const group = uniqueId('stock');
    const url = `/v1/subscriptions/${topic}/${group}`;
    await (await startConsumer(group, topic, ['created'])).stop();
    expect((await api.call('PUT', url, { body: { tagExpression: 'created', enabled: false } })).status).toBe(200);

    const restarted = await startConsumer(group, topic, ['created', 'paid']);
    try {
      expect((await api.call('GET', url)).body).toMatchObject({ tagExpression: 'created || paid', enabled: false });
      const key = uniqueId('k');
      const message = { key, topic, tag: 'paid', body: 'x', producerGroup: uniqueId('producer'), confirm: true };
      expect((await api.call('POST', '/v1/messages', { body: message })).status).toBe(201);
      const finished = await eventually(
        async () => {
          const r = await api.call('GET', `/v1/messages/${key}`);
          return r.body?.status === 'FINISHED' && r.body;
        },
        20_000,
        `${key} FINISHED`,
      );
      expect(finished.deliveries).toEqual([]);
    } finally {
      await restarted.stop();
    }
  }, 60_000);

  it('a new subscription an SDK registers is enabled', async () => {
    const topic = uniqueId('topic');
    const group = uniqueId('consumer');
    await sdk.register({ kind: 'subscription', topic, tagExpression: '', consumerGroup: group });
    expect((await api.call('GET', `/v1/subscriptions/${topic}/${group}`)).body).toMatchObject({
      tagExpression: '*',
      enabled: true,
    });
  });
});

describe('concurrent registrations of a new group', () => {
  const sixAtOnce = (url: string, body: unknown) =>
    Promise.all(Array.from({ length: 6 }, () => api.call('PUT', url, { body })));

  it('of a subscription: one creates (201), the others replace (200), none fails', async () => {
    const answers = await sixAtOnce(`/v1/subscriptions/${uniqueId('topic')}/${uniqueId('consumer')}`, {});
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
  });

  it('of a check-back URL without a secret: none fails, and only the secret that is kept is answered', async () => {
    const group = uniqueId('producer');
    const answers = await sixAtOnce(`/v1/producers/${group}`, { checkBackUrl: operatorUrl });
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    const kept = (await api.prisma.producer.findUnique({ where: { producerGroup: group } }))?.checkBackSecret;
    const answered = answers.map((a) => a.body.checkBackSecret).filter((secret) => secret !== undefined);
    expect(answered).toEqual([kept]);
  });
});

describe('one validation for both writers', () => {
  it('a tag expression the API refuses is refused from an SDK too, at once and with the reason; nothing is written', async () => {
    const topic = uniqueId('topic');
    const group = uniqueId('consumer');
    const url = `/v1/subscriptions/${topic}/${group}`;
    const tagExpression = 'created | paid';
    expect((await api.call('PUT', url, { body: { tagExpression } })).body).toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'tagExpression',
    });

    const t0 = Date.now();
    const refused = await sdk
      .register({ kind: 'subscription', topic, tagExpression, consumerGroup: group })
      .catch((err: Error) => err);
    expect(refused).toBeInstanceOf(ValidationError);
    expect(refused).toMatchObject({
      field: 'tagExpression',
      message: "tagExpression must be '*' or tags joined by '||'",
    });
    expect(Date.now() - t0).toBeLessThan(10_000); // not retried until the run's 60 s timeout
    expect((await api.call('GET', url)).status).toBe(404);
  });
});
