import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { parseConsumerOptions } from '../../src/consumer/options.js';
import { MAX_BODY_BYTES, parseMessageSpec } from '../../src/message-spec.js';
import { tagMatches } from '../../src/tag-expression.js';

describe('tag expressions', () => {
  it.each([
    ['*', 'a', true],
    ['', undefined, true],
    ['a || b', 'b', true],
    ['a||b', 'c', false],
    ['a', undefined, false],
  ])('%s matches %s: %s', (expr, tag, expected) => {
    expect(tagMatches(expr, tag)).toBe(expected);
  });
});

describe("the consumer SDK's tags", () => {
  const base = { group: 'g', topic: 't', handler: async () => undefined };
  it.each([[['created', 'paid']], [['*']], [[]]])('%j makes a tag expression the service takes', (tags) => {
    expect(parseConsumerOptions({ ...base, tags }).tags).toEqual(tags);
  });
  it.each([[['a b']], [['a*']], [['a|b']], [['*', 'a']], [['t'.repeat(300), 'u'.repeat(300)]]])(
    '%j is refused at start, naming tags (the service would refuse the subscription)',
    (tags) => {
      expect(() => parseConsumerOptions({ ...base, tags })).toThrow(/^tags must be tags without/);
    },
  );
});

describe('message spec validation', () => {
  const ok = { key: 'order-1', topic: 'orders', body: '{}', producerGroup: 'order-service' };
  it('accepts a valid message', () => {
    expect(parseMessageSpec({ ...ok, tag: 'created', delayMs: 1000 })).toMatchObject(ok);
  });
  it.each([
    [{ ...ok, key: undefined }, 'key is required and must be a string'],
    [{ ...ok, key: 'has space' }, 'key must be printable ASCII without spaces'],
    [{ ...ok, key: 'k'.repeat(192) }, 'key must be at most 191 characters'],
    [{ ...ok, topic: 'bad topic!' }, 'topic must be 1-127 of [a-zA-Z0-9_-]'],
    [{ ...ok, tag: 'a||b' }, "tag must not contain '|', '*', spaces or control characters"],
    [{ ...ok, body: 'x'.repeat(MAX_BODY_BYTES + 1) }, `body must be at most ${MAX_BODY_BYTES} bytes`],
    [{ ...ok, body: '"'.repeat(MAX_BODY_BYTES / 2 + 1) }, 'body must be at most'], // escapes count
    [{ ...ok, delayMs: -1 }, 'delayMs Too small: expected number to be >0'],
    [{ ...ok, delayMs: 10, orderKey: 'g' }, 'delayMs delayMs and orderKey cannot be combined'],
    [{ ...ok, surprise: 1 }, 'input has unknown field(s): surprise'],
  ])('rejects %j', (input, message) => {
    expect(() => parseMessageSpec(input)).toThrow(message);
  });
});

describe('configuration', () => {
  it('has defaults for the local stack and reads the environment', () => {
    const c = loadConfig({ RMSG_MAX_SENDS: '3', TEMPORAL_ADDRESS: 'temporal:7233' });
    expect(c.timings.maxSends).toBe(3);
    expect(c.timings.resendAfterMs).toBe(60_000);
    expect(c.temporal.address).toBe('temporal:7233');
    expect(c.rocketmq.endpoints).toBe('127.0.0.1:8081');
  });
  it('names the bad variable', () => {
    expect(() => loadConfig({ RMSG_MAX_SENDS: '0' })).toThrow(/timings\.maxSends/);
  });
});
