import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReliableMessageClient, TopicMismatchError, ValidationError } from '../../src/client/index.js';
import { deleteTopic, ensureTopic } from '../../src/rocketmq/topics.js';
import { LogCapture } from '../consumer/helpers.js';
import { connectTestClient } from '../helpers/service.js';
import { freshTopic, testConfig, uniqueId } from '../helpers/stack.js';
import { TopicProbe } from '../helpers/topic-probe.js';
import { type ApiHarness, enc, startApiHarness } from './harness.js';

/**
 * Everything RocketMQ would refuse to publish is refused at prepare/send, with the field and the
 * rule, and no workflow is started. The limits were found by publishing to the local stack's proxy.
 */
let api: ApiHarness;
const topics: Record<'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION', string> = {
  NORMAL: '',
  FIFO: '',
  DELAY: '',
  TRANSACTION: '',
};
const producerGroup = uniqueId('limits-producer');
const spec = (over: Record<string, unknown> = {}) => ({
  key: uniqueId('k'),
  topic: topics.NORMAL,
  body: 'hello',
  producerGroup,
  confirm: true,
  ...over,
});

/** No workflow exists for the key: nothing was written. */
async function nothingStarted(key: string): Promise<boolean> {
  try {
    await api.temporal.workflow.getHandle(`rmsg:${key}`).describe();
    return false;
  } catch (err) {
    return (err as Error).name === 'WorkflowNotFoundError';
  }
}

beforeAll(async () => {
  api = await startApiHarness({ checkBackAfterMs: 600_000, resendAfterMs: 600_000 });
  for (const type of Object.keys(topics) as (keyof typeof topics)[]) topics[type] = await freshTopic('lim', type);
});

afterAll(async () => {
  await api?.stop();
});

const manyProperties = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, 'v']));

describe('POST /v1/messages refuses what RocketMQ would refuse, writing nothing', () => {
  const cases: [string, () => Record<string, unknown>, number, string, string, RegExp][] = [
    ['an empty body', () => ({ body: '' }), 400, 'VALIDATION_FAILED', 'body', /^body must not be empty/],
    [
      '125 properties',
      () => ({ properties: manyProperties(125) }),
      400,
      'VALIDATION_FAILED',
      'properties',
      /at most 124/,
    ],
    [
      'properties over the size budget',
      () => ({ properties: { a: 'v'.repeat(9000) } }),
      400,
      'VALIDATION_FAILED',
      'properties',
      /at most 8192 bytes/,
    ],
    [
      'a RocketMQ system property',
      () => ({ properties: { UNIQ_KEY: 'x' } }),
      400,
      'VALIDATION_FAILED',
      'properties.UNIQ_KEY',
      /RocketMQ system property/,
    ],
    [
      "the service's own property",
      () => ({ properties: { RMSG_GROUPS: 'g' } }),
      400,
      'VALIDATION_FAILED',
      'properties.RMSG_GROUPS',
      /RMSG_/,
    ],
    [
      'a control character in a property value',
      () => ({ properties: { a: 'line\nbreak' } }),
      400,
      'VALIDATION_FAILED',
      'properties.a',
      /control character/,
    ],
    [
      'an empty property value (RocketMQ drops the property)',
      () => ({ properties: { e: '', k: 'v' } }),
      400,
      'VALIDATION_FAILED',
      'properties.e',
      /^properties\.e must not be empty/,
    ],
    [
      'a body with an unpaired surrogate',
      () => ({ body: 'a\ud800b' }),
      400,
      'VALIDATION_FAILED',
      'body',
      /^body must be well-formed Unicode \(no unpaired surrogates\)$/,
    ],
    [
      'a tag with an unpaired surrogate',
      () => ({ tag: 't\udc00' }),
      400,
      'VALIDATION_FAILED',
      'tag',
      /well-formed Unicode/,
    ],
    [
      'an orderKey with an unpaired surrogate',
      () => ({ topic: topics.FIFO, orderKey: 'o\ud800' }),
      400,
      'VALIDATION_FAILED',
      'orderKey',
      /well-formed Unicode/,
    ],
    [
      'a property value with an unpaired surrogate',
      () => ({ properties: { a: 'v\ud800' } }),
      400,
      'VALIDATION_FAILED',
      'properties.a',
      /well-formed Unicode/,
    ],
    [
      'a property name with an unpaired surrogate',
      () => ({ properties: { 'p\ud800': 'v' } }),
      400,
      'VALIDATION_FAILED',
      'properties.p\ud800',
      /well-formed Unicode/,
    ],
    [
      'an orderKey of 64 bytes',
      () => ({ topic: topics.FIFO, orderKey: 'o'.repeat(64) }),
      400,
      'VALIDATION_FAILED',
      'orderKey',
      /at most 63 bytes/,
    ],
    [
      'a delay beyond 32 bits',
      () => ({ topic: topics.DELAY, delayMs: 2 ** 31 }),
      400,
      'VALIDATION_FAILED',
      'delayMs',
      /at most/,
    ],
    [
      "a delay beyond the broker's maximum",
      () => ({ topic: topics.DELAY, delayMs: 86_400_001 }),
      400,
      'VALIDATION_FAILED',
      'delayMs',
      /at most 86400000 ms/,
    ],
    [
      'a topic that does not exist',
      () => ({ topic: uniqueId('missing') }),
      409,
      'TOPIC_NOT_FOUND',
      'topic',
      /does not exist/,
    ],
    ['delayMs on a NORMAL topic', () => ({ delayMs: 5000 }), 409, 'TOPIC_TYPE_MISMATCH', 'delayMs', /DELAY topic/],
    ['orderKey on a NORMAL topic', () => ({ orderKey: 'o' }), 409, 'TOPIC_TYPE_MISMATCH', 'orderKey', /FIFO topic/],
    [
      'no orderKey on a FIFO topic',
      () => ({ topic: topics.FIFO }),
      409,
      'TOPIC_TYPE_MISMATCH',
      'orderKey',
      /FIFO topic/,
    ],
    [
      'no delayMs on a DELAY topic',
      () => ({ topic: topics.DELAY }),
      409,
      'TOPIC_TYPE_MISMATCH',
      'delayMs',
      /DELAY topic/,
    ],
    ['a TRANSACTION topic', () => ({ topic: topics.TRANSACTION }), 409, 'TOPIC_TYPE_MISMATCH', 'topic', /TRANSACTION/],
    [
      'a RocketMQ system topic',
      () => ({ topic: 'RMQ_SYS_TRACE_TOPIC' }),
      400,
      'VALIDATION_FAILED',
      'topic',
      /reserved/,
    ],
    ['a retry topic', () => ({ topic: '%RETRY%group' }), 400, 'VALIDATION_FAILED', 'topic', /^topic must be 1-127 of/],
  ];
  it.each(cases)('%s', async (_what, over, status, code, field, message) => {
    const body = spec(over());
    const r = await api.call('POST', '/v1/messages', { body });
    expect({ status: r.status, code: r.body.code, field: r.body.field }).toEqual({ status, code, field });
    expect(r.body.message).toMatch(message);
    expect(await nothingStarted(body.key)).toBe(true);
  });

  it('accepts what RocketMQ accepts at the limits', async () => {
    const accepted = [
      spec({ properties: manyProperties(124) }),
      spec({ properties: { a: 'v'.repeat(8191) } }),
      spec({ topic: topics.FIFO, orderKey: 'o'.repeat(63) }),
      spec({ topic: topics.DELAY, delayMs: 86_400_000 }),
      spec({ body: 'a\u{1f600}b', tag: 't\u{1f600}', properties: { a: '\u{1f600}' } }), // surrogate pairs
    ];
    for (const body of accepted) {
      const r = await api.call('POST', '/v1/messages', { body: { ...body, confirm: false } });
      expect({ key: body.key, status: r.status, body: r.body }).toMatchObject({ key: body.key, status: 201 });
      await api.call('POST', `/v1/messages/${enc(body.key)}/cancel`);
    }
  });

  it("publishes a message at every limit at once: the service's own properties still fit", async () => {
    const topic = await freshTopic('full');
    const probe = await TopicProbe.start(topic);
    try {
      const group = uniqueId('g').padEnd(127, 'g');
      await api.call('PUT', `/v1/subscriptions/${topic}/${group}`, { body: {} });
      const properties = Object.fromEntries(
        Array.from({ length: 124 }, (_, i) => [`p${String(i).padStart(3, '0')}`, 'v'.repeat(i < 4 ? 64 : 62)]),
      );
      const bytes = Object.entries(properties).reduce((n, [k, v]) => n + k.length + v.length, 0);
      expect(bytes).toBe(8192);
      const body = spec({
        key: uniqueId('k').padEnd(191, 'k'),
        topic,
        tag: 't'.repeat(191),
        producerGroup: uniqueId('p').padEnd(127, 'p'),
        properties,
      });
      expect((await api.call('POST', '/v1/messages', { body })).status).toBe(201);
      const [seen] = await probe.published(body.key, 20_000);
      expect(seen?.properties.get('p123')).toBe('v'.repeat(62));
      expect(seen?.properties.get('RMSG_GROUPS')).toBe(group);
    } finally {
      await probe.stop();
    }
  });

  it('answers a repeat of an existing message as a repeat, even once its topic is gone', async () => {
    const topic = await freshTopic('gone');
    const body = spec({ topic, confirm: false });
    expect((await api.call('POST', '/v1/messages', { body })).status).toBe(201);
    await deleteTopic(testConfig.rocketmq, topic);
    const again = await api.call('POST', '/v1/messages', { body });
    expect({ status: again.status, created: again.body.created }).toEqual({ status: 200, created: false });
    const other = await api.call('POST', '/v1/messages', { body: { ...body, body: 'other' } });
    expect({ status: other.status, code: other.body.code }).toEqual({ status: 409, code: 'KEY_CONFLICT' });
    await api.call('POST', `/v1/messages/${enc(body.key)}/cancel`);
  });

  it('accepts a topic created a moment after it was refused', async () => {
    const topic = uniqueId('late');
    const refused = await api.call('POST', '/v1/messages', { body: spec({ topic, confirm: false }) });
    expect(refused.status).toBe(409);
    await ensureTopic(testConfig.rocketmq, topic);
    const body = spec({ topic, confirm: false });
    const r = await api.call('POST', '/v1/messages', { body });
    expect(r.status).toBe(201);
    await api.call('POST', `/v1/messages/${enc(body.key)}/cancel`);
  });
});

describe('the producer SDK checks the same, in the same shared path', () => {
  it('refuses a missing topic, a type mismatch and an empty body before starting anything', async () => {
    const client = await connectTestClient(api.config);
    try {
      const missing = { key: uniqueId('sdk'), topic: uniqueId('missing'), body: 'b' };
      await expect(client.prepare(missing)).rejects.toMatchObject({ code: 'TOPIC_NOT_FOUND', field: 'topic' });
      await expect(client.prepare(missing)).rejects.toBeInstanceOf(TopicMismatchError);
      const delayed = { key: uniqueId('sdk'), topic: topics.NORMAL, body: 'b', delayMs: 1000 };
      await expect(client.send(delayed)).rejects.toMatchObject({ code: 'TOPIC_TYPE_MISMATCH', field: 'delayMs' });
      const empty = { key: uniqueId('sdk'), topic: topics.NORMAL, body: '' };
      await expect(client.prepare(empty)).rejects.toBeInstanceOf(ValidationError);
      for (const m of [missing, delayed, empty]) expect(await nothingStarted(m.key)).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('refuses an empty property value and a string with an unpaired surrogate, naming the field', async () => {
    const client = await connectTestClient(api.config);
    try {
      const emptyValue = { key: uniqueId('sdk'), topic: topics.NORMAL, body: 'b', properties: { e: '' } };
      await expect(client.prepare(emptyValue)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'properties.e',
        message: 'properties.e must not be empty',
      });
      await expect(client.send(emptyValue)).rejects.toBeInstanceOf(ValidationError);
      const surrogate = { key: uniqueId('sdk'), topic: topics.NORMAL, body: 'a\ud800b' };
      await expect(client.send(surrogate)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'body',
        message: 'body must be well-formed Unicode (no unpaired surrogates)',
      });
      for (const m of [emptyValue, surrogate]) expect(await nothingStarted(m.key)).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('accepts unchecked while RocketMQ cannot be asked, and says so once', async () => {
    const logs = new LogCapture();
    const client = await ReliableMessageClient.connect({
      temporal: api.config.temporal,
      taskQueue: api.config.temporal.taskQueue,
      producerGroup: uniqueId('sdk-producer'),
      rocketmq: { namesrv: '127.0.0.1:1' },
      log: logs.log,
    });
    try {
      const keys = [uniqueId('sdk'), uniqueId('sdk')];
      for (const key of keys)
        expect((await client.prepare({ key, topic: topics.NORMAL, body: 'b' })).created).toBe(true);
      expect(logs.lines.filter((l) => /cannot look topics up in RocketMQ/.test(l.msg))).toHaveLength(1);
      for (const key of keys) await client.cancel(key);
    } finally {
      await client.close();
    }
  });
});
