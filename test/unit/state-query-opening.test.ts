import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { getMessageState } from '../../src/client/message-ops.js';
import { MessageOpeningError } from '../../src/errors.js';
import { eventually } from '../helpers/eventually.js';
import { harnessesForFile } from '../helpers/workflow-harness.js';

/**
 * A message's state asked before its first workflow task has finished: the query comes with that task
 * (or waits for it), or the task is retrying a dependency that is down. The caller gets the state once
 * it exists, or a clear "still opening" error, never the SDK's "no handler registered".
 */
const harnesses = harnessesForFile();

describe.concurrent('the state of a message still opening', () => {
  it('asked before the first task ran, it is answered once that task has made it', async () => {
    const m = await harnesses.paused.start(true, { subscribers: ['stock'] });
    const asked = getMessageState(harnesses.paused.client, m.key);
    await sleep(300);
    harnesses.paused.resume();
    const state = await asked;
    expect(state).toMatchObject({ key: m.key, status: 'SENDING', producerGroup: m.producerGroup });
  });

  it('while its first write keeps failing, the answer says it is opening, naming the key', async () => {
    // MySQL is down for the first ten write attempts: about four seconds of retries.
    let attempts = 0;
    const m = await harnesses.running.start(false, {
      onSync: () => {
        attempts += 1;
        if (attempts <= 10) throw new Error('MySQL is down (injected)');
      },
    });
    const started = Date.now();
    const failure = await getMessageState(harnesses.running.client, m.key).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(MessageOpeningError);
    expect(failure).toMatchObject({ code: 'MESSAGE_OPENING', key: m.key });
    expect((failure as Error).message).toContain(m.key);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    const opened = await eventually(
      () => getMessageState(harnesses.running.client, m.key).catch(() => undefined),
      15_000,
      'opened',
    );
    expect(opened.status).toBe('WAITING_CONFIRM');
  });
});
