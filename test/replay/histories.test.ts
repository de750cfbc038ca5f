import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { HISTORIES_DIR, SCENARIOS } from '../../scripts/record-histories.js';
import { readHistoryFile } from '../../src/temporal/history-files.js';
import { installTemporalRuntime } from '../../src/temporal/runtime.js';
import { testLogger } from '../helpers/stack.js';
import { replayOptions } from '../helpers/workflow-bundle.js';

/**
 * Guarantee 6 (every history replays): the current workflow code replays every recorded history
 * (npm run histories:record) without a nondeterminism error. A change of the command sequence that
 * is not behind patched() fails here, before it can fail the workflow tasks of messages in flight.
 */
describe('recorded histories replay against the current workflow code', () => {
  const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));

  it('covers every path', () => {
    for (const scenario of SCENARIOS) {
      expect(files.some((f) => f === `${scenario}.json` || f.startsWith(`${scenario}.run`))).toBe(true);
    }
    // The continued-as-new message is there with both of its runs.
    expect(files.filter((f) => f.startsWith('continue-as-new.run')).length).toBeGreaterThanOrEqual(2);
  });

  it('replays every file without nondeterminism', async () => {
    installTemporalRuntime(testLogger);
    const histories = files.map((f) => ({ workflowId: f, history: readHistoryFile(join(HISTORIES_DIR, f)) }));
    const replays = Worker.runReplayHistories(await replayOptions(), histories);
    const results: { workflowId: string; error?: string }[] = [];
    for await (const r of replays) results.push({ workflowId: r.workflowId, error: r.error?.message });
    expect(results.map((r) => r.workflowId).sort()).toEqual([...files].sort());
    expect(results.filter((r) => r.error)).toEqual([]);
  });
});
