import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { workflowExists } from '../../src/client/message-ops.js';
import { InvalidTransitionError } from '../../src/errors.js';
import { workflowIdForKey } from '../../workflows/definitions.js';
import { type ApiHarness, startApiHarness } from '../api/harness.js';
import { connectTestClient, eventually } from '../helpers/service.js';
import { freshTopic, uniqueId } from '../helpers/stack.js';
import { TopicProbe } from '../helpers/topic-probe.js';

let api: ApiHarness;
let client: ReliableMessageClient;
let topic: string;

/** A message that finished, whose workflow is then gone from Temporal as if past its retention. */
async function finishedAndForgotten(key: string): Promise<void> {
  await client.send({ key, topic, body: 'the first message' });
  await eventually(
    async () => (await api.prisma.message.findUnique({ where: { key } }))?.status === 'FINISHED',
    20_000,
  );
  await client.temporal.workflowService.deleteWorkflowExecution({
    namespace: client.temporal.options.namespace,
    workflowExecution: { workflowId: workflowIdForKey(key) },
  });
  await eventually(async () => !(await workflowExists(client.temporal, key)), 60_000, 'the workflow to be deleted');
}

/** Waits for the second message of `key` to be DEAD(KEY_REUSED), unpublished, naming the earlier one. */
async function deadForItsKey(key: string): Promise<void> {
  const dead = await eventually(
    async () => {
      const s = await client.get(key);
      return s.status === 'DEAD' && s;
    },
    15_000,
    'DEAD(KEY_REUSED)',
  );
  expect(dead).toMatchObject({ deadReason: 'KEY_REUSED', sendCount: 0 });
  expect(dead.lastError).toMatch(/belongs to an earlier message \(created .*, FINISHED\)/);
}

beforeAll(async () => {
  api = await startApiHarness();
  client = await connectTestClient(api.service.config);
  topic = await freshTopic('reuse');
});

afterAll(async () => {
  await client?.close();
  await api?.stop();
});

describe('a key used again after its workflow is gone', () => {
  it('through the SDK: the new message is DEAD(KEY_REUSED) at once, never published, and its confirm is refused', async () => {
    const key = uniqueId('reuse');
    await finishedAndForgotten(key);
    await client.prepare({ key, topic, body: 'a second message' });
    await deadForItsKey(key);
    const confirm = client.confirm(key);
    await expect(confirm).rejects.toBeInstanceOf(InvalidTransitionError);
    await expect(confirm).rejects.toThrow(/KEY_REUSED.*belongs to an earlier message/);
    // The earlier message's row is left as it was.
    expect(await api.prisma.message.findUnique({ where: { key } })).toMatchObject({
      status: 'FINISHED',
      body: 'the first message',
    });
  }, 120_000);

  it('a send through the SDK: DEAD(KEY_REUSED) in its first task, never published, the earlier row untouched', async () => {
    const key = uniqueId('reuse-send');
    await finishedAndForgotten(key);
    const probe = await TopicProbe.start(topic);
    try {
      await client.send({ key, topic, body: 'a second message' });
      await deadForItsKey(key);
      // Nothing of the second message reaches the topic (the probe may see the first one).
      await new Promise((r) => setTimeout(r, 2000));
      expect(probe.forKey(key).map((m) => m.body.toString())).not.toContain('a second message');
      expect(await api.prisma.message.findUnique({ where: { key } })).toMatchObject({
        status: 'FINISHED',
        body: 'the first message',
      });
    } finally {
      await probe.stop();
    }
  }, 120_000);

  it('through the HTTP API: 409 KEY_REUSED, and nothing is started', async () => {
    const key = uniqueId('reuse');
    await finishedAndForgotten(key);
    const res = await api.call('POST', '/v1/messages', {
      body: { key, topic, body: 'again', producerGroup: 'p', confirm: true },
    });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'KEY_REUSED', field: 'key' });
    expect(res.body.message).toMatch(/belongs to an earlier message/);
    expect(await workflowExists(client.temporal, key)).toBe(false);
  }, 120_000);
});
