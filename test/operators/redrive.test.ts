import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { type ApiHarness, READ_TOKEN, startApiHarness } from '../api/harness.js';
import { connectTestClient, eventually } from '../helpers/service.js';
import { freshTopic, testConfig, uniqueId } from '../helpers/stack.js';

// A consumer group that never consumes: with one send and a 300 ms resend interval its messages are
// DEAD (UNCONSUMED) within about a second. Small pages make a redrive of 12 messages take 3 activities.
let api: ApiHarness;
let client: ReliableMessageClient;

beforeAll(async () => {
  api = await startApiHarness(
    { maxSends: 1, resendAfterMs: 300 },
    { operators: { ...testConfig.operators, redrivePageSize: 5, redriveMaxRate: 100 } },
  );
  client = await connectTestClient(api.config, uniqueId('redrive-producer'));
});

afterAll(async () => {
  await client?.close();
  await api?.stop();
});

/** `n` messages on a fresh topic whose only subscriber never consumes, all DEAD. */
async function deadMessages(n: number) {
  const topic = await freshTopic('redrive');
  const group = uniqueId('down-group');
  await client.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: group });
  const keys = Array.from({ length: n }, (_, i) => `${uniqueId('rd')}-${i}`);
  await Promise.all(keys.map((key) => client.send({ key, topic, body: '{}' })));
  await eventually(
    async () => (await api.prisma.message.count({ where: { key: { in: keys }, status: 'DEAD' } })) === n,
    30_000,
    `${n} DEAD projections`,
  );
  return { topic, group, keys };
}

const resendEvents = (keys: string[]) =>
  api.prisma.messageEvent.findMany({
    where: { messageKey: { in: keys }, type: 'OPERATOR_RESEND' },
    orderBy: { createdAt: 'asc' },
  });

async function completed(id: string) {
  return eventually(
    async () => {
      const r = await api.call('GET', `/v1/redrives/${id}`, { token: READ_TOKEN });
      return r.body.status === 'COMPLETED' ? r.body : undefined;
    },
    30_000,
    `redrive ${id} to complete`,
  );
}

describe('DEAD triage and bulk redrive', () => {
  it('groups DEAD messages, dry-runs without writing, and redrives at the asked rate with an audit record', async () => {
    const { topic, group, keys } = await deadMessages(12);

    const groups = await api.call('GET', `/v1/dead-groups?topic=${topic}`, { token: READ_TOKEN });
    expect(groups.status).toBe(200);
    expect(groups.body).toEqual([
      expect.objectContaining({
        reason: 'UNCONSUMED',
        topic,
        consumerGroup: group,
        errorClass: '(no error)',
        count: 12,
      }),
    ]);

    const filter = { reason: 'UNCONSUMED', topic, consumerGroup: group, errorClass: '(no error)' };
    const before = await api.prisma.redrive.count();
    const dry = await api.call('POST', '/v1/redrives', { body: { filter, dryRun: true, requestedBy: 'alice' } });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, matched: 12 });
    expect(dry.body.sample).toHaveLength(10);
    expect(keys).toEqual(expect.arrayContaining(dry.body.sample.map((s: { key: string }) => s.key)));
    expect(await api.prisma.redrive.count()).toBe(before);
    expect(await resendEvents(keys)).toEqual([]);

    const started = await api.call('POST', '/v1/redrives', {
      body: { filter, ratePerSecond: 8, requestedBy: 'alice' },
    });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: 'RUNNING', total: 12, requestedBy: 'alice', action: 'resend' });
    const done = await completed(started.body.id);
    expect(done).toMatchObject({ total: 12, done: 12, skipped: 0, failed: 0, filter: { status: 'DEAD', ...filter } });

    const events = await resendEvents(keys);
    expect(events.map((e) => e.messageKey).sort()).toEqual([...keys].sort());
    // 12 actions at 8 a second: at least 11 gaps of 125 ms between the first and the last.
    const spanMs = (events.at(-1)?.createdAt.getTime() ?? 0) - (events[0]?.createdAt.getTime() ?? 0);
    expect(spanMs).toBeGreaterThanOrEqual(1300);

    const list = await api.call('GET', '/v1/redrives?limit=5', { token: READ_TOKEN });
    expect(list.body[0]).toMatchObject({ id: started.body.id, requestedBy: 'alice', done: 12 });
  });

  it('carries on after a worker restart without acting on a message twice', async () => {
    const { topic, keys } = await deadMessages(12);
    const started = await api.call('POST', '/v1/redrives', {
      body: { filter: { topic }, ratePerSecond: 4, requestedBy: 'bob' },
    });
    expect(started.status).toBe(202);
    await eventually(async () => (await resendEvents(keys)).length >= 3, 20_000, 'the first resends');
    await api.service.restart();
    const done = await completed(started.body.id);
    expect(done).toMatchObject({ total: 12, done: 12, failed: 0 });
    const events = await resendEvents(keys);
    expect(events.map((e) => e.messageKey).sort()).toEqual([...keys].sort());
  });

  it('serves the console page to anyone (its data needs a token)', async () => {
    const page = await api.call('GET', '/console', { token: null });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('<script type="module" src="/console/console.js">');
  });

  it('refuses bad input naming the field, writes nothing, and needs the write token', async () => {
    const before = await api.prisma.redrive.count();
    const cases: [unknown, string][] = [
      [{ filter: {} }, 'requestedBy'],
      [{ requestedBy: 'x', ratePerSecond: 0 }, 'ratePerSecond'],
      [{ requestedBy: 'x', ratePerSecond: 101 }, 'ratePerSecond'],
      [{ requestedBy: 'x', filter: { bogus: 1 } }, 'filter.bogus'],
      [{ requestedBy: 'x', filter: { status: 'LOST' } }, 'filter.status'],
      [{ requestedBy: 'x', filter: { from: 'yesterday' } }, 'filter.from'],
      [{ requestedBy: 'x', action: 'delete' }, 'action'],
    ];
    for (const [body, field] of cases) {
      const r = await api.call('POST', '/v1/redrives', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body).toMatchObject({ code: 'VALIDATION_FAILED', field });
      expect(r.body.message).toContain(field);
    }
    const reader = await api.call('POST', '/v1/redrives', { body: { requestedBy: 'x' }, token: READ_TOKEN });
    expect(reader.status).toBe(403);
    expect(await api.prisma.redrive.count()).toBe(before);
    const missing = await api.call('GET', '/v1/redrives/rd-nope', { token: READ_TOKEN });
    expect(missing).toMatchObject({ status: 404, body: { code: 'NOT_FOUND', field: 'id' } });
  });
});
