import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import {
  RELIABLE_MESSAGE_WORKFLOW,
  RESUME_SCHEMA_VERSION,
  type ReliableMessageInput,
  stateQuery,
  workflowIdForKey,
} from '../../workflows/definitions.js';
import { initialState } from '../../workflows/message-state.js';
import { connectTestClient, eventually, FAST_TIMINGS, startTestService, type TestService } from '../helpers/service.js';
import { uniqueId } from '../helpers/stack.js';

let service: TestService;
let client: ReliableMessageClient;

beforeAll(async () => {
  service = await startTestService();
  client = await connectTestClient(service.config);
});

afterAll(async () => {
  await client?.close();
  await service?.stop();
});

/** Starts a run as continue-as-new would: with a resume state of the given schema version. */
async function startResumed(resumeSchemaVersion: number) {
  const key = uniqueId('resumed');
  const message = { key, topic: 'resumed', body: '', producerGroup: client.producerGroup };
  const input: ReliableMessageInput = {
    message,
    confirmed: false,
    resume: {
      schemaVersion: resumeSchemaVersion,
      state: initialState(message, { ...FAST_TIMINGS, checkBackAfterMs: 60_000 }, Date.now(), false),
      unsynced: [],
      rowWritten: false,
    },
  };
  return client.temporal.workflow.start(RELIABLE_MESSAGE_WORKFLOW, {
    taskQueue: service.config.temporal.taskQueue,
    workflowId: workflowIdForKey(key),
    args: [input],
  });
}

describe('continue-as-new resume state carries its schema version', () => {
  it('a worker reads a resume state of its own schema version', async () => {
    const handle = await startResumed(RESUME_SCHEMA_VERSION);
    const state = await eventually(async () => handle.query(stateQuery), 10_000, 'the resumed state');
    expect(state.status).toBe('WAITING_CONFIRM');
    await handle.terminate('test done');
  });

  it('a newer schema than the worker knows fails the workflow task (retried), never the message', async () => {
    const handle = await startResumed(RESUME_SCHEMA_VERSION + 1);
    const failure = await eventually(
      async () => {
        const events = (await handle.fetchHistory()).events ?? [];
        return events.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes;
      },
      10_000,
      'a failed workflow task',
    );
    expect(failure.failure?.message).toMatch(/resume state has schema 2; this worker reads up to 1/);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await handle.terminate('test done');
  });
});
