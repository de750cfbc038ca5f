import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { ackSignal, workflowIdForKey } from '../../workflows/definitions.js';
import { connectTestClient, eventually, startTestService, type TestService } from '../helpers/service.js';
import { freshTopic, uniqueId } from '../helpers/stack.js';

/**
 * Found by `npm run chaos --fault mysql --outage 10m`: with the projection database down, a message's
 * local activity retried inside one workflow task for the whole outage (attempt 676 after 6 minutes),
 * the task heartbeating every 8 s: 3 history events each, ~22 a minute, and never a point where the
 * workflow could continue as new. Bounded local activities hand the waiting to workflow timers.
 */
const OUTAGE_MS = 30_000;
const down = new Set<string>();
/** Keys whose final write (FINISHED) fails as if the database were down. */
const finalWriteDown = new Set<string>();
let service: TestService;
let client: ReliableMessageClient;

function databaseDownFor(activities: Activities): Activities {
  return {
    ...activities,
    async syncProjection(input) {
      const key = input.state.key;
      if (down.has(key) || (finalWriteDown.has(key) && input.state.status === 'FINISHED'))
        throw new Error('connect ECONNREFUSED 127.0.0.1:3306 (injected)');
      return activities.syncProjection(input);
    },
  };
}

beforeAll(async () => {
  service = await startTestService({}, { wrapActivities: databaseDownFor });
  client = await connectTestClient(service.config);
});

afterAll(async () => {
  down.clear();
  finalWriteDown.clear();
  await client?.close();
  await service?.stop();
});

describe('a projection database down for a while', () => {
  it('the message waits on workflow timers, not inside one ever-heartbeating workflow task, then finishes', async () => {
    const topic = await freshTopic('outage');
    const group = uniqueId('sub');
    await client.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: group });
    const key = uniqueId('outage');
    await client.send({ key, topic, body: 'an order' });
    const handle = client.temporal.workflow.getHandle(workflowIdForKey(key));
    await eventually(async () => (await client.get(key)).publishedAt !== undefined, 30_000, 'published');
    // The receipt's write (not the final one: the message waits for its consumption) meets the outage.
    down.add(key);
    await handle.signal(ackSignal, { group, status: 'RECEIVED' });
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const during = (await handle.fetchHistory()).events ?? [];
    down.delete(key);
    const count = (type: string) =>
      during.filter((e) => String(e.eventType) === type || e.eventType === EVENT[type]).length;
    // Backoff 1, 2, 4, 8, 16 s: about five timers in 30 s; a task heartbeat would be 3 events per 8 s and no timer.
    expect(count('TIMER_STARTED')).toBeGreaterThanOrEqual(3);
    expect(during.length).toBeLessThan(60);
    await handle.signal(ackSignal, { group, status: 'CONSUMED' });
    await eventually(async () => (await client.get(key)).status === 'FINISHED', 60_000, 'FINISHED');
  }, 120_000);

  it('a final write that fails fails the last task, retried on Temporal backoff; the run completes once it lands', async () => {
    const topic = await freshTopic('outage-final');
    const key = uniqueId('outage-final');
    finalWriteDown.add(key);
    // Nobody subscribes: published, then FINISHED in its first workflow task, whose final write fails.
    await client.send({ key, topic, body: 'an order' });
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const handle = client.temporal.workflow.getHandle(workflowIdForKey(key));
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const during = (await handle.fetchHistory()).events ?? [];
    finalWriteDown.delete(key);
    expect(during.filter((e) => e.eventType === EVENT.WORKFLOW_TASK_FAILED).length).toBeGreaterThanOrEqual(1);
    expect(during.length).toBeLessThan(60);
    await eventually(async () => (await handle.describe()).status.name === 'COMPLETED', 120_000, 'completed');
    // Completed means written: the projection says FINISHED at once.
    expect((await client.get(key)).status).toBe('FINISHED');
  }, 240_000);
});

const EVENT: Record<string, number> = { TIMER_STARTED: 17, WORKFLOW_TASK_FAILED: 9 };
