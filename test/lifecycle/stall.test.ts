import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { ackSignal, workflowIdForKey } from '../../workflows/definitions.js';
import { connectTestClient, eventually, startTestService, type TestService } from '../helpers/service.js';
import { freshTopic, uniqueId } from '../helpers/stack.js';
import { replayOptions } from '../helpers/workflow-bundle.js';

/**
 * A database that hangs while a message's first projection write is under way, with the producer's
 * confirm arriving meanwhile: the recorded history must still replay with the same workflow code.
 */
const STALL_MS = 12_000;
let stalledKeys = new Set<string>();
let service: TestService;
let client: ReliableMessageClient;
let topic: string;
const group = uniqueId('stall-sub');

function stallFirstProjectionWrite(activities: Activities): Activities {
  const write = activities.syncProjection;
  return {
    ...activities,
    async syncProjection(input) {
      if (stalledKeys.delete(input.state.key)) await new Promise((r) => setTimeout(r, STALL_MS));
      return write(input);
    },
  };
}

beforeAll(async () => {
  service = await startTestService({}, { wrapActivities: stallFirstProjectionWrite });
  client = await connectTestClient(service.config);
  topic = await freshTopic('stall');
  await client.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: group });
});

afterAll(async () => {
  stalledKeys = new Set();
  await client?.close();
  await service?.stop();
});

describe('a database stall during the first projection write', () => {
  it('a confirm that arrives while the write hangs leaves a history that replays, and the message finishes', async () => {
    const key = uniqueId('stall');
    stalledKeys.add(key);
    await client.prepare({ key, topic, body: 'stalled' });
    await new Promise((r) => setTimeout(r, 3000));
    const confirmStarted = Date.now();
    const confirmed = await client.confirm(key);
    expect(confirmed.status).toBe('SENDING');
    // Recorded is enough: the confirm does not wait for the database to come back.
    expect(Date.now() - confirmStarted).toBeLessThan(4000);
    const handle = client.temporal.workflow.getHandle(workflowIdForKey(key));
    await eventually(async () => (await client.get(key)).publishedAt !== undefined, 30_000, 'published');
    // A new worker replays the history from the start before it applies the consumer's report.
    await service.restart();
    await handle.signal(ackSignal, { group, status: 'CONSUMED', received: true });
    await eventually(async () => (await client.get(key)).status === 'FINISHED', 20_000, 'FINISHED');
    const history = await handle.fetchHistory();
    await expect(
      Worker.runReplayHistory(await replayOptions(), history, workflowIdForKey(key)),
    ).resolves.toBeUndefined();
  }, 90_000);
});
