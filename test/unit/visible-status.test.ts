import { describe, expect, it } from 'vitest';
import { MESSAGE_STATUSES, visibleStatus } from '../../workflows/definitions.js';

describe('the status a message workflow shows in Temporal visibility', () => {
  it('a completed run that shows SENDING is FINISHED', () => {
    expect(visibleStatus('SENDING', 'COMPLETED')).toBe('FINISHED');
  });

  it('an open run shows its search attribute as it is', () => {
    for (const status of MESSAGE_STATUSES) expect(visibleStatus(status, 'RUNNING')).toBe(status);
  });

  it('a completed run showing any other status, and a run that did not complete, show the attribute as it is', () => {
    for (const status of MESSAGE_STATUSES.filter((s) => s !== 'SENDING'))
      expect(visibleStatus(status, 'COMPLETED')).toBe(status);
    // Terminated, failed or timed out by hand or by Temporal: it did not finish.
    for (const closed of ['TERMINATED', 'FAILED', 'TIMED_OUT', 'CANCELLED', 'CONTINUED_AS_NEW'])
      expect(visibleStatus('SENDING', closed)).toBe('SENDING');
  });

  it('a record without the attribute has no status', () => {
    expect(visibleStatus(undefined, 'COMPLETED')).toBeUndefined();
  });
});
