import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCheckBack } from '../../src/check-back-signature.js';
import { eventually } from '../helpers/service.js';
import { freshTopic, uniqueId } from '../helpers/stack.js';
import { TopicProbe } from '../helpers/topic-probe.js';
import { type ApiHarness, enc, READ_TOKEN, startApiHarness } from './harness.js';

/**
 * A producer in "another language": nothing but HTTP. Its check-back is a tiny HTTP server that
 * answers per key: a well-formed COMMIT, a malformed answer, or none at all (it hangs).
 */
interface CheckBackServer {
  url: string;
  asked: { key: string; group: string; kind: string }[];
  answers: Map<string, { status: number; body: string; headers?: Record<string, string> } | 'hang' | 'huge'>;
  /** Paths asked that are not the check-back itself (where a redirect pointed). */
  strayPaths: string[];
  /** Whether each call verified against the secret the service made at registration. */
  verified: boolean[];
  secret?: string;
  close(): Promise<void>;
}

async function startCheckBackServer(): Promise<CheckBackServer> {
  const asked: CheckBackServer['asked'] = [];
  const answers: CheckBackServer['answers'] = new Map();
  const strayPaths: string[] = [];
  const verified: boolean[] = [];
  const self: Partial<CheckBackServer> = {};
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      if (req.url !== '/check-back') {
        strayPaths.push(req.url ?? '');
        return res.end('COMMIT');
      }
      const secret = self.secret ?? '';
      verified.push(
        verifyCheckBack(secret, { method: req.method ?? '', path: req.url, body: raw, headers: req.headers }),
      );
      const q = JSON.parse(raw) as CheckBackServer['asked'][number];
      asked.push(q);
      const answer = answers.get(q.key) ?? { status: 200, body: 'UNKNOWN' };
      if (answer === 'hang') return; // never answers; the service's timeout must end the call
      if (answer === 'huge') {
        res.on('error', () => {});
        res.write('COMMIT');
        const pad = Buffer.alloc(1024 * 1024, ' ');
        let sent = 0;
        const pump = () => {
          while (sent < 10) {
            sent += 1;
            if (!res.write(pad)) return void res.once('drain', pump);
          }
          res.end();
        };
        return pump();
      }
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(self, {
    url: `http://127.0.0.1:${port}/check-back`,
    asked,
    answers,
    strayPaths,
    verified,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

let api: ApiHarness;
let checkBack: CheckBackServer;
let topic: string;
let probe: TopicProbe;
const producerGroup = uniqueId('py-producer');
const subscriber = uniqueId('go-consumer');

const messageOf = async (key: string) =>
  (await api.call('GET', `/v1/messages/${enc(key)}`, { token: READ_TOKEN })).body;
const eventTypes = (m: { events: { type: string }[] }) => m.events.map((e) => e.type);
const checkBackAnswers = (m: { events: { type: string; detail: { answer: string } }[] }) =>
  m.events.filter((e) => e.type === 'CHECK_BACK').map((e) => e.detail.answer);

beforeAll(async () => {
  api = await startApiHarness();
  checkBack = await startCheckBackServer();
  topic = await freshTopic('api-flow');
  probe = await TopicProbe.start(topic);
  const producer = await api.call('PUT', `/v1/producers/${producerGroup}`, { body: { checkBackUrl: checkBack.url } });
  expect(producer.status).toBe(201);
  checkBack.secret = producer.body.checkBackSecret;
  const sub = await api.call('PUT', `/v1/subscriptions/${topic}/${subscriber}`, { body: { tagExpression: 'paid' } });
  expect(sub.status).toBe(201);
});

afterAll(async () => {
  await probe?.stop();
  await checkBack?.close();
  await api?.stop();
});

describe('a producer and a consumer over HTTP only', () => {
  it('prepare without confirm -> the HTTP check-back commits -> published -> acks -> FINISHED', async () => {
    const key = uniqueId('order');
    checkBack.answers.set(key, { status: 200, body: '{"status":"COMMIT"}' });
    const prepared = await api.call('POST', '/v1/messages', {
      body: { key, topic, tag: 'paid', body: '{"order":7}', producerGroup },
    });
    expect(prepared.status).toBe(201);

    const sending = await eventually(
      async () => {
        const m = await messageOf(key);
        return m?.status === 'SENDING' && m.sendCount === 1 && m;
      },
      20_000,
      'the check-back to confirm and the message to be published',
    );
    expect(checkBack.asked).toContainEqual({
      key,
      group: producerGroup,
      kind: 'producer',
      createdAt: Date.parse(sending.createdAt),
    });
    expect(sending.events.find((e: { type: string }) => e.type === 'CONFIRMED').detail).toEqual({ by: 'check-back' });
    expect(sending.deliveries).toMatchObject([{ consumerGroup: subscriber, status: 'PENDING', sendCount: 1 }]);
    const published = await probe.published(key, 15_000, 'publish');
    expect(published[0]?.tag).toBe('paid');
    expect(published[0]?.body.toString()).toBe('{"order":7}');

    const ack = (status: string) =>
      api.call('POST', `/v1/messages/${enc(key)}/acks`, { body: { group: subscriber, status } });
    expect((await ack('RECEIVED')).status).toBe(202);
    expect((await ack('CONSUMED')).body).toEqual({ accepted: true });

    const finished = await eventually(
      async () => {
        const m = await messageOf(key);
        return m?.status === 'FINISHED' && m;
      },
      15_000,
      'FINISHED',
    );
    expect(finished.deliveries).toMatchObject([
      { consumerGroup: subscriber, status: 'CONSUMED', sendCount: 1, receiveCount: 1 },
    ]);
    expect(finished.deliveries[0].consumedAt).toEqual(expect.any(String));
    expect(eventTypes(finished)).toEqual([
      'PREPARED',
      'CHECK_BACK',
      'CONFIRMED',
      'SUBSCRIBERS',
      'PUBLISHED',
      'RECEIVED',
      'CONSUMED',
      'FINISHED',
    ]);
    expect(checkBackAnswers(finished)).toEqual(['COMMIT']);
    // A late report to a closed message is accepted as a no-op, not an error the consumer must handle.
    expect((await ack('CONSUMED')).body).toEqual({ accepted: false, status: 'FINISHED' });
  });

  it('a malformed check-back answer is never a commit: the message stays WAITING_CONFIRM', async () => {
    const key = uniqueId('malformed');
    // Looks like COMMIT to a careless parser (String(["COMMIT"]) === "COMMIT").
    checkBack.answers.set(key, { status: 200, body: '{"status":["COMMIT"]}' });
    await api.call('POST', '/v1/messages', { body: { key, topic, tag: 'paid', body: 'x', producerGroup } });
    const asked = await eventually(
      async () => {
        const m = await messageOf(key);
        return m && checkBackAnswers(m).length >= 2 && m;
      },
      20_000,
      'two check-backs',
    );
    expect(asked.status).toBe('WAITING_CONFIRM');
    expect(checkBackAnswers(asked).every((a: string) => a === 'MALFORMED')).toBe(true);

    checkBack.answers.set(key, { status: 200, body: 'commit' }); // wrong case: still malformed
    const stillWaiting = await eventually(
      async () => {
        const m = await messageOf(key);
        return m && checkBackAnswers(m).length >= 3 && m;
      },
      20_000,
      'a third check-back',
    );
    expect(stillWaiting.status).toBe('WAITING_CONFIRM');
    expect(stillWaiting.sendCount).toBe(0);
    expect(probe.forKey(key)).toHaveLength(0);
    await api.call('POST', `/v1/messages/${enc(key)}/cancel`, { body: { reason: 'test done' } });
  });

  it('only the strict grammar commits: near-COMMITs, 10 MB answers and redirects to a COMMIT never do', async () => {
    const cases = {
      trailingSpace: { status: 200, body: 'COMMIT ' },
      extraKey: { status: 200, body: '{"status":"COMMIT","x":1}' },
      huge: 'huge' as const,
      redirect: { status: 302, body: '', headers: { location: checkBack.url.replace('/check-back', '/elsewhere') } },
    };
    const keys = Object.fromEntries(Object.keys(cases).map((name) => [name, uniqueId(name)]));
    for (const [name, answer] of Object.entries(cases)) {
      checkBack.answers.set(keys[name] as string, answer);
      await api.call('POST', '/v1/messages', { body: { key: keys[name], topic, body: 'x', producerGroup } });
    }
    for (const [name, key] of Object.entries(keys)) {
      const m = await eventually(
        async () => {
          const m = await messageOf(key);
          return m?.events && checkBackAnswers(m).length >= 1 && m;
        },
        20_000,
        `a check-back of ${name}`,
      );
      expect(m.status, name).toBe('WAITING_CONFIRM');
      expect(m.sendCount, name).toBe(0);
      expect(checkBackAnswers(m)[0], name).toBe(name === 'redirect' ? 'ERROR' : 'MALFORMED');
      await api.call('POST', `/v1/messages/${enc(key)}/cancel`, { body: { reason: 'test done' } });
    }
    expect(checkBack.strayPaths).toEqual([]); // the redirect was never followed
    expect(checkBack.verified.length).toBeGreaterThanOrEqual(Object.keys(cases).length);
    expect(checkBack.verified.every(Boolean)).toBe(true); // every call was signed with the group's secret
  });

  it('a check-back that never answers times out (ERROR) and is asked again; ROLLBACK then cancels', async () => {
    const key = uniqueId('hang');
    checkBack.answers.set(key, 'hang');
    await api.call('POST', '/v1/messages', {
      body: { key, topic, body: 'x', producerGroup, timings: { checkBackTimeoutMs: 300 } },
    });
    const timedOut = await eventually(
      async () => {
        const m = await messageOf(key);
        return m && checkBackAnswers(m).includes('ERROR') && m;
      },
      20_000,
      'a timed-out check-back',
    );
    expect(timedOut.status).toBe('WAITING_CONFIRM');
    checkBack.answers.set(key, { status: 200, body: 'ROLLBACK' });
    const cancelled = await eventually(
      async () => {
        const m = await messageOf(key);
        return m?.status === 'CANCELLED' && m;
      },
      20_000,
      'ROLLBACK to cancel it',
    );
    expect(cancelled.cancelReason).toBe('check-back answered ROLLBACK');
  });

  it('/healthz checks every dependency; /metrics shows the transitions the worker wrote', async () => {
    const health = await api.call('GET', '/healthz', { token: null });
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
    for (const part of ['temporal', 'rocketmq', 'mysql']) expect(health.body.checks[part].status).toBe('up');

    const metrics = await api.call('GET', '/metrics', { token: READ_TOKEN });
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    for (const name of [
      'rmsg_messages{status="FINISHED"}',
      'rmsg_publish_latency_seconds_count',
      'rmsg_confirm_to_consumed_seconds_count',
      'rmsg_resends_total',
      'rmsg_check_backs_total{kind="producer",answer="COMMIT"}',
      'rmsg_check_backs_total{kind="producer",answer="MALFORMED"}',
      'rmsg_check_backs_total{kind="producer",answer="ERROR"}',
      '# TYPE rmsg_dead_total counter',
    ]) {
      expect(metrics.text).toContain(name);
    }
    const value = (line: string) =>
      Number(
        metrics.text
          .split('\n')
          .find((l) => l.startsWith(line))
          ?.split(' ')[1],
      );
    expect(value('rmsg_publish_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(value('rmsg_confirm_to_consumed_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(value('rmsg_check_backs_total{kind="producer",answer="COMMIT"}')).toBe(1);
  });
});
