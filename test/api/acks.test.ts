import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdForKey } from '../../workflows/definitions.js';
import { eventually } from '../helpers/service.js';
import { freshTopic, uniqueId } from '../helpers/stack.js';
import { type ApiHarness, enc, startApiHarness } from './harness.js';

let api: ApiHarness;
let topic: string;
const subscriber = uniqueId('sub');

const ack = (key: string, group: string, status = 'CONSUMED') =>
  api.call('POST', `/v1/messages/${enc(key)}/acks`, { body: { group, status } });
const historyLength = async (key: string) =>
  (await api.temporal.workflow.getHandle(workflowIdForKey(key)).fetchHistory()).events?.length ?? 0;

beforeAll(async () => {
  api = await startApiHarness();
  topic = await freshTopic('acks');
  expect((await api.call('PUT', `/v1/subscriptions/${topic}/${subscriber}`, { body: {} })).status).toBe(201);
});

afterAll(async () => {
  await api?.stop();
});

describe('acks over HTTP', () => {
  it('an ack from a group that is not a subscriber is refused with 409 and enters neither history nor events', async () => {
    const key = uniqueId('ack');
    expect(
      (await api.call('POST', '/v1/messages', { body: { key, topic, body: 'x', producerGroup: 'p1' } })).status,
    ).toBe(201);
    const early = await ack(key, subscriber);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ code: 'NOT_A_SUBSCRIBER', field: 'group' });
    expect(early.body.message).toMatch(/not published yet/);

    expect((await api.call('POST', `/v1/messages/${enc(key)}/confirm`, { body: {} })).status).toBe(200);
    await eventually(async () => (await api.prisma.message.findUnique({ where: { key } }))?.sendCount === 1, 10_000);
    const events = await api.prisma.messageEvent.count({ where: { messageKey: key } });
    const length = await historyLength(key);
    for (let i = 0; i < 3; i++) {
      const stranger = await ack(key, 'not-a-subscriber');
      expect(stranger.status).toBe(409);
      expect(stranger.body).toMatchObject({ code: 'NOT_A_SUBSCRIBER', field: 'group' });
      expect(stranger.body.message).toContain(`subscribers: ${subscriber}`);
    }
    expect(await historyLength(key)).toBe(length);
    expect(await api.prisma.messageEvent.count({ where: { messageKey: key } })).toBe(events);

    expect((await ack(key, subscriber)).status).toBe(202);
    await eventually(
      async () => (await api.prisma.message.findUnique({ where: { key } }))?.status === 'FINISHED',
      10_000,
    );
    const late = await ack(key, subscriber);
    expect(late.status).toBe(200);
    expect(late.body).toEqual({ accepted: false, status: 'FINISHED' });
  });

  it('an ack for a key that does not exist is 404', async () => {
    const res = await ack(uniqueId('nothing'), subscriber);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('MESSAGE_NOT_FOUND');
  });
});
