import { Client, type WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { InvalidTransitionError } from '../../src/errors.js';
import { repairMessage } from '../../src/message-repair.js';
import {
  ackSignal,
  type ReliableMessageInput,
  SearchAttribute,
  STARTER_PROTOCOL,
  workflowIdForKey,
} from '../../workflows/definitions.js';
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

/** The input the workflow's current run was started with. */
async function runInput(handle: WorkflowHandle): Promise<ReliableMessageInput> {
  const started = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
  return decodeFromPayloadsAtIndex(client.temporal.options.loadedDataConverter, 0, started?.input?.payloads);
}

/** The search attributes the workflow's current run shows (the status one among them). */
async function shown(handle: WorkflowHandle) {
  const attributes = (await handle.describe()).typedSearchAttributes;
  return {
    key: attributes.get(SearchAttribute.messageKey),
    topic: attributes.get(SearchAttribute.topic),
    status: attributes.get(SearchAttribute.status),
    producerGroup: attributes.get(SearchAttribute.producerGroup),
  };
}

/** A message sent to both groups, shown as consumed by the first. */
async function sentAndConsumedByTheFirstGroup(prefix: string) {
  const key = uniqueId(prefix);
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
  return { key, handle };
}

afterAll(async () => {
  await probe?.stop();
  await client?.close();
  await api?.stop();
});

describe('operator repair of a stuck message', () => {
  it('restarts from the projection: resends only to the group that has not consumed, then finishes', async () => {
    const { key, handle } = await sentAndConsumedByTheFirstGroup('stuck');
    const firstRun = (await handle.describe()).runId;

    const repaired = await api.call('POST', `/v1/messages/${enc(key)}/repair`);
    expect(repaired.status).toBe(200);
    expect(repaired.body.status).toBe('SENDING');
    expect((await handle.describe()).runId).not.toBe(firstRun);
    // The fresh run follows the newest command sequence, like a fresh start.
    expect((await runInput(handle)).protocol).toBe(STARTER_PROTOCOL);

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

  it('a message that finishes as the repair ends its run is not restarted', async () => {
    const { key, handle } = await sentAndConsumedByTheFirstGroup('finishing');
    const finishedRun = (await handle.describe()).runId;
    // The last ack lands between the repair's read of the projection and its end of the run.
    const racing = new Client({
      connection: client.temporal.connection,
      namespace: api.config.temporal.namespace,
      interceptors: {
        workflow: [
          {
            async terminate(input, next) {
              await handle.signal(ackSignal, { group: groups[1] as string, status: 'CONSUMED', received: true });
              await handle.result();
              return next(input);
            },
          },
        ],
      },
    });

    await expect(
      repairMessage({ temporal: racing, prisma: api.prisma, taskQueue: api.config.temporal.taskQueue }, key),
    ).rejects.toBeInstanceOf(InvalidTransitionError);
    const current = await handle.describe();
    expect([current.runId, current.status.name]).toEqual([finishedRun, 'COMPLETED']);
    expect((await api.prisma.message.findUnique({ where: { key } }))?.status).toBe('FINISHED');
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

  it('a message whose workflow is gone (past retention) is found again by its search attributes', async () => {
    const key = uniqueId('gone');
    await client.prepare({ key, topic, body: 'waiting' });
    await eventually(
      async () => (await api.prisma.message.findUnique({ where: { key } }))?.status === 'WAITING_CONFIRM',
    );
    const handle = client.temporal.workflow.getHandle(workflowIdForKey(key));
    const before = await shown(handle);
    const { runId } = await handle.describe();
    await handle.terminate('the test: its history is deleted next');
    await client.temporal.workflowService.deleteWorkflowExecution({
      namespace: api.config.temporal.namespace,
      workflowExecution: { workflowId: handle.workflowId, runId },
    });
    // The server deletes in the background, within a minute here.
    await eventually(
      () =>
        handle.describe().then(
          () => false,
          (err) => err instanceof WorkflowNotFoundError,
        ),
      90_000,
      'the deleted workflow gone',
    );

    expect((await api.call('POST', `/v1/messages/${enc(key)}/repair`)).body.status).toBe('WAITING_CONFIRM');
    expect(await shown(handle)).toEqual(before);
    expect(before.status).toBe('WAITING_CONFIRM');
    expect((await runInput(handle)).protocol).toBe(STARTER_PROTOCOL);
    expect((await client.confirm(key)).status).toBe('SENDING');
    await eventually(async () => (await shown(handle)).status === 'SENDING', 15_000, 'SENDING shown');
  }, 120_000);
});
