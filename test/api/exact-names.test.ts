import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/service.js';
import { freshTopic, uniqueId } from '../helpers/stack.js';
import { type ApiHarness, enc, startApiHarness } from './harness.js';

/**
 * Names and keys compare exactly, as Temporal (workflow ids) and RocketMQ (topics, groups) compare them:
 * a case variant is another group, topic or message, never a way into this one's.
 */
let api: ApiHarness;
let topic: string;

const createToken = async (role: string, group?: string) => {
  const res = await api.call('POST', '/v1/tokens', { body: { role, group, label: `case ${role}` } });
  expect(res.status).toBe(201);
  return res.body.token as string;
};
const row = (key: string) =>
  api.prisma.message.findUnique({ where: { key }, include: { deliveries: true, events: true } });

beforeAll(async () => {
  api = await startApiHarness({ checkBackAfterMs: 600_000, resendAfterMs: 600_000 });
  topic = await freshTopic('case');
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

describe('group names that differ only in case are different groups', () => {
  it('a producer token of group SHOP-X cannot re-point the check-back URL of producer group shop-x', async () => {
    const victim = uniqueId('shop');
    const attacker = victim.toUpperCase();
    const own = await api.call('PUT', `/v1/producers/${victim}`, {
      body: { checkBackUrl: 'http://127.0.0.1:9/victim-check-back' },
    });
    expect(own.status).toBe(201);
    const attackerToken = await createToken('producer', attacker);
    const put = await api.call('PUT', `/v1/producers/${attacker}`, {
      token: attackerToken,
      body: { checkBackUrl: 'http://127.0.0.1:9/attacker-says-commit', checkBackSecret: 'x'.repeat(40) },
    });
    // Whatever the answer, the victim's registration must be untouched.
    const after = await api.call('GET', `/v1/producers/${victim}`);
    expect({ put: put.status, url: after.body.checkBackUrl }).toEqual({
      put: 201,
      url: 'http://127.0.0.1:9/victim-check-back',
    });
  });

  it("a consumer token of group STOCK-X cannot delete consumer group stock-x's subscription", async () => {
    const victim = uniqueId('stock');
    const attacker = victim.toUpperCase();
    expect((await api.call('PUT', `/v1/subscriptions/${topic}/${victim}`, { body: {} })).status).toBe(201);
    const attackerToken = await createToken('consumer', attacker);
    const del = await api.call('DELETE', `/v1/subscriptions/${topic}/${attacker}`, { token: attackerToken });
    const still = await api.call('GET', `/v1/subscriptions/${topic}/${victim}`);
    expect({ del: del.status, victim: still.status }).toEqual({ del: 404, victim: 200 });
  });

  it('a subscription to topic ORDERS-x does not make its group a subscriber of messages on topic orders-x', async () => {
    const t = await freshTopic('casetopic');
    const group = uniqueId('g');
    // Topic names are case-sensitive in RocketMQ: this group consumes another topic.
    expect((await api.call('PUT', `/v1/subscriptions/${t.toUpperCase()}/${group}`, { body: {} })).status).toBe(201);
    const key = uniqueId('ct');
    const sent = await api.call('POST', '/v1/messages', {
      body: { key, topic: t, body: 'x', producerGroup: 'p-case', confirm: true },
    });
    expect(sent.status).toBe(201);
    const published = await eventually(async () => {
      const r = await row(key);
      return r && r.sendCount > 0 ? r : undefined;
    }, 15_000);
    expect(published.deliveries.map((d) => d.consumerGroup)).toEqual([]);
  });
});

describe("another group's check-back, registered under a case variant of the name", () => {
  it('an unconfirmed message of producer shop-y is answered by its own check-back, not by the one group SHOP-Y registered', async () => {
    const answerServer = (answer: string) => {
      const server = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => res.end(answer));
      });
      return new Promise<{ server: http.Server; url: string }>((resolve) =>
        server.listen(0, '127.0.0.1', () =>
          resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb` }),
        ),
      );
    };
    const victimServer = await answerServer('UNKNOWN'); // its business is not committed (yet)
    const attackerServer = await answerServer('COMMIT');
    try {
      const victim = uniqueId('shop');
      const attacker = victim.toUpperCase();
      expect(
        (await api.call('PUT', `/v1/producers/${victim}`, { body: { checkBackUrl: victimServer.url } })).status,
      ).toBe(201);
      const attackerToken = await createToken('producer', attacker);
      await api.call('PUT', `/v1/producers/${attacker}`, {
        token: attackerToken,
        body: { checkBackUrl: attackerServer.url },
      });
      const key = uniqueId('victim-order');
      const prepared = await api.call('POST', '/v1/messages', {
        body: { key, topic, body: 'x', producerGroup: victim, timings: { checkBackAfterMs: 300 } },
      });
      expect(prepared.status).toBe(201);
      await new Promise((r) => setTimeout(r, 4000));
      const r = await row(key);
      expect({ status: r?.status, checkBacks: (r?.checkBackCount ?? 0) > 0 }).toEqual({
        status: 'WAITING_CONFIRM',
        checkBacks: true,
      });
    } finally {
      victimServer.server.close();
      attackerServer.server.close();
    }
  });
});

describe('message keys that differ only in case are different messages', () => {
  it("GET /v1/messages/{key} answers 404 for a key no message has, not another key's message", async () => {
    const key = `${uniqueId('Case')}-Key`;
    expect(
      (await api.call('POST', '/v1/messages', { body: { key, topic, body: 'x', producerGroup: 'p-case' } })).status,
    ).toBe(201);
    await eventually(async () => (await row(key)) ?? undefined, 10_000);
    const other = await api.call('GET', `/v1/messages/${enc(key.toLowerCase())}`);
    expect({ status: other.status, key: other.body.key }).toEqual({ status: 404, key: undefined });
    await api.call('POST', `/v1/messages/${enc(key)}/cancel`, { body: {} });
  });

  it('two keys that differ only in case are two messages, each with its own row', async () => {
    const key = `${uniqueId('Pair')}-Key`;
    for (const k of [key, key.toLowerCase()]) {
      const res = await api.call('POST', '/v1/messages', { body: { key: k, topic, body: k, producerGroup: 'p-case' } });
      expect(res.status).toBe(201);
    }
    const rows = await eventually(async () => {
      const both = await Promise.all([row(key), row(key.toLowerCase())]);
      return both.every(Boolean) && both;
    }, 15_000);
    expect(rows.map((r) => r?.body)).toEqual([key, key.toLowerCase()]);
    for (const k of [key, key.toLowerCase()]) await api.call('POST', `/v1/messages/${enc(k)}/cancel`, { body: {} });
  });
});
