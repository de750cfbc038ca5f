import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { InvalidTransitionError } from '../../src/errors.js';
import { repairMessage } from '../../src/message-repair.js';
import { ackSignal, workflowIdForKey } from '../../workflows/definitions.js';
import { type ApiHarness, enc, startApiHarness } from '../api/harness.js';
import { connectTestClient, eventually } from '../helpers/service.js';
import { freshTopic, uniqueId } from '../helpers/stack.js';
import { TopicProbe } from '../helpers/topic-probe.js';

let api: ApiHarness;
let client: ReliableMessageClient;
let topic: string;
let probe: TopicProbe;
const groups = [uniqueId('a'), uniqueId('b')];

beforeAll(async () => {
  // No automatic resend within the test: what is sent after the repair is the repair's doing.
  api = await startApiHarness({ resendAfterMs: 600_000 });
  client = await connectTestClient(api.service.config);
  topic = await freshTopic('repair');
  probe = await TopicProbe.start(topic);
  for (const g of groups) await client.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: g });
});

afterAll(async () => {
  await probe?.stop();
  await client?.close();
  await api?.stop();
});

describe('operator repair of a stuck message', () => {
  it('restarts from the projection: resends only to the group that has not consumed, then finishes', async () => {
    const key = uniqueId('stuck');
    await client.send({ key, topic, body: 'payload' });
    const handle = client.temporal.workflow.getHandle(workflowIdForKey(key));
    await handle.signal(ackSignal, { group: groups[0] as string, status: 'CONSUMED', received: true });
    await eventually(
      async () =>
        (await api.prisma.delivery.findFirst({ where: { messageKey: key, consumerGroup: groups[0] } }))?.status ===
        'CONSUMED',
      10_000,
      'the first group consumed',
    );
    const firstRun = (await handle.describe()).runId;

    const repaired = await api.call('POST', `/v1/messages/${enc(key)}/repair`);
    expect(repaired.status).toBe(200);
    expect(repaired.body.status).toBe('SENDING');
    expect((await handle.describe()).runId).not.toBe(firstRun);

    const resent = await probe.published(key, 15_000, 'the resend after the repair', 2);
    expect(resent[1]?.properties.get('RMSG_GROUPS')).toBe(groups[1]);
    await handle.signal(ackSignal, { group: groups[1] as string, status: 'CONSUMED', received: true });
    const row = await eventually(
      () => api.prisma.message.findFirst({ where: { key, status: 'FINISHED' }, include: { deliveries: true } }),
      15_000,
      'FINISHED',
    );
    expect(row.deliveries.map((d) => d.status)).toEqual(['CONSUMED', 'CONSUMED']);
    await expect(
      repairMessage({ temporal: client.temporal, prisma: api.prisma, taskQueue: api.config.temporal.taskQueue }, key),
    ).rejects.toBeInstanceOf(InvalidTransitionError);
  });

  it('a message still waiting for its confirm keeps waiting, and its prepare stays idempotent', async () => {
    const key = uniqueId('stuck');
    await client.prepare({ key, topic, body: 'waiting' });
    await eventually(
      async () => (await api.prisma.message.findUnique({ where: { key } }))?.status === 'WAITING_CONFIRM',
    );
    expect((await api.call('POST', `/v1/messages/${enc(key)}/repair`)).body.status).toBe('WAITING_CONFIRM');
    expect((await client.prepare({ key, topic, body: 'waiting' })).created).toBe(false);
    expect((await client.confirm(key)).status).toBe('SENDING');
  });
});
