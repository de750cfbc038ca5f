import { describe, expect, it } from 'vitest';
import { DependencyDownError } from '../../src/dependency-gate.js';
import { expected } from '../../src/temporal/runtime.js';
import { FailureType } from '../../workflows/definitions.js';

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

  it('a final write failed fast by a gate that is down is not logged again; any other failed task still is', () => {
    const failing = (message: string) => ({
      message: 'Failing workflow task',
      meta: {
        run_id: 'r',
        failure: `Failure { failure: Some(Failure { message: "${message}", failure_info: Some(ApplicationFailureInfo(ApplicationFailureInfo { r#type: "${FailureType.finalWriteFailed}" })) }) }`,
      },
    });
    const down = new DependencyDownError('mysql', 'ECONNREFUSED');
    expect(expected(failing(`final projection write failed: ${down.name}: ${down.message}`))).toBe(true);
    expect(expected(failing('final projection write failed: Error: mysql did not answer within 1500 ms'))).toBe(false);
    expect(expected({ message: 'Failing workflow task', meta: { failure: 'Nondeterminism error' } })).toBe(false);
  });

  it('activity-only workers are expected', () => {
    expect(expected({ message: 'No workflows registered, not polling for workflow tasks' })).toBe(true);
  });
});
