import { describe, expect, it } from 'vitest';
import { ReliableConsumer } from '../../src/consumer/index.js';
import { messageKeySchema, nameProblem } from '../../src/names.js';

const keyProblem = (key: string) => {
  const r = messageKeySchema.safeParse(key);
  return r.success ? undefined : r.error.issues[0]?.message;
};

describe('message keys', () => {
  it.each(['order-1', 'a.b', '...', 'k'.repeat(191), "x:y@z!$&'()*+,;=~"])('accepts %s', (key) => {
    expect(keyProblem(key)).toBeUndefined();
  });
  it.each([
    ['.', /dot segments/],
    ['..', /dot segments/],
    ['a/b', /unsafe in a URL path/],
    ['a?b', /unsafe in a URL path/],
    ['a#b', /unsafe in a URL path/],
    ['100%', /unsafe in a URL path/],
    ['a\\b', /unsafe in a URL path/],
    ['has space', /printable ASCII/],
    ['k'.repeat(192), /at most 191/],
    ['k\ud800', /^must be well-formed Unicode \(no unpaired surrogates\)$/],
  ])('refuses %s', (key, rule) => {
    expect(keyProblem(key)).toMatch(rule);
  });
});

describe('topic and group names', () => {
  it.each(['orders', 'order-service_2', 'n'.repeat(127), 'RMQ_SYSX', 'my_RMQ_SYS_topic'])('accepts %s', (name) => {
    expect(nameProblem(name)).toBeUndefined();
  });
  it.each([
    ['%RETRY%group', /^must be 1-127 of \[a-zA-Z0-9_-\]$/],
    ['a|b', /^must be 1-127 of/],
    ['', /^must be 1-127 of/],
    ['n'.repeat(128), /^must be 1-127 of/],
    ['RMQ_SYS_TRACE_TOPIC', /reserved by RocketMQ/],
    ['rmq_sys_anything', /reserved by RocketMQ/],
    ['CID_RMQ_SYS_x', /reserved by RocketMQ/],
    ['TBW102', /reserved by RocketMQ/],
    ['SCHEDULE_TOPIC_XXXX', /reserved by RocketMQ/],
    ['DEFAULT_CONSUMER', /reserved by RocketMQ/],
    ['TOOLS_CONSUMER', /reserved by RocketMQ/],
    ['n\udc00', /^must be well-formed Unicode/],
  ])('refuses %s', (name, rule) => {
    expect(nameProblem(name)).toMatch(rule);
  });
});

describe('the consumer SDK uses the same name rule', () => {
  it.each([
    [{ group: '%RETRY%stock', topic: 'orders' }, /^group must be 1-127 of \[a-zA-Z0-9_-\]/],
    [{ group: 'stock', topic: 'RMQ_SYS_TRACE_TOPIC' }, /^topic is reserved by RocketMQ/],
  ])('refuses %j before connecting', async (names, rule) => {
    await expect(ReliableConsumer.start({ ...names, handler: async () => undefined })).rejects.toThrow(rule);
  });
});
