import { describe, expect, it } from 'vitest';
import { DependencyDownError } from '../../src/dependency-gate.js';
import { expected } from '../../src/temporal/runtime.js';

describe("the Temporal SDK's log entries", () => {
  it('an attempt failed fast by a gate that is down is not logged again (the gate said so once)', () => {
    expect(
      expected({ message: 'Activity failed', meta: { error: new DependencyDownError('mysql', 'ECONNREFUSED') } }),
    ).toBe(true);
  });

  it('any other activity failure still is', () => {
    expect(
      expected({ message: 'Activity failed', meta: { error: new Error('mysql did not answer within 5000 ms') } }),
    ).toBe(false);
    expect(expected({ message: 'Activity failed', meta: {} })).toBe(false);
  });

  it('activity-only workers are expected', () => {
    expect(expected({ message: 'No workflows registered, not polling for workflow tasks' })).toBe(true);
  });
});
