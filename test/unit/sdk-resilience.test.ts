import { ActivityFailure, ApplicationFailure, TimeoutFailure, WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { mergeReports } from '../../src/consumer/report-outbox.js';
import { ValidationError } from '../../src/errors.js';
import { registrationFailure, registrationWorkflowId } from '../../src/temporal/registration.js';
import { type Ack, FailureType } from '../../workflows/definitions.js';

const g = 'stock';
const received: Ack = { group: g, status: 'RECEIVED' };
const failed: Ack = { group: g, status: 'FAILED', error: 'busy' };
const consumed: Ack = { group: g, status: 'CONSUMED' };

describe('reports folded while the service is unreachable', () => {
  it('an outcome carries an unsent receipt', () => {
    expect(mergeReports(received, consumed)).toEqual({ ...consumed, received: true });
    expect(mergeReports(received, failed)).toEqual({ ...failed, received: true });
  });

  it('CONSUMED is never overtaken by an older or a later FAILED', () => {
    expect(mergeReports(failed, consumed)).toEqual({ ...consumed, received: false });
    expect(mergeReports(consumed, failed)).toEqual({ ...consumed, received: false });
  });

  it('a later failure replaces an earlier one; a receipt after a failure is folded into it', () => {
    const later: Ack = { group: g, status: 'FAILED', error: 'timeout' };
    expect(mergeReports(failed, later)).toEqual({ ...later, received: false });
    expect(mergeReports(failed, received)).toEqual({ ...failed, received: true });
    expect(mergeReports(received, received)).toEqual(received);
  });
});

describe('registration workflow IDs', () => {
  it('are the same for the same registration and differ when its content changes', () => {
    const sub = { kind: 'subscription' as const, topic: 'orders', tagExpression: 'a', consumerGroup: 'stock' };
    expect(registrationWorkflowId(sub)).toBe(registrationWorkflowId({ ...sub }));
    expect(registrationWorkflowId(sub)).toMatch(/^rmsg-register:subscription:orders:stock:[0-9a-f]{12}$/);
    expect(registrationWorkflowId({ ...sub, tagExpression: 'b' })).not.toBe(registrationWorkflowId(sub));
    expect(registrationWorkflowId({ kind: 'producer', group: 'orders-svc', checkBackTaskQueue: 'q' })).toMatch(
      /^rmsg-register:producer:orders-svc:/,
    );
  });
});

describe('a failed registration run, as the SDK reports it', () => {
  it('a run nobody recorded within its timeout names the task queue and what may be down', () => {
    // As the Temporal client reports a workflow execution timeout.
    const timedOut = new WorkflowFailedError(
      'Workflow execution timed out',
      new TimeoutFailure('Workflow execution timed out', undefined, 'START_TO_CLOSE'),
      'TIMEOUT',
    );
    const err = registrationFailure(timedOut, 'reliable-message');
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      'the service did not record the registration within 60 s: no service worker took it on task queue ' +
        'reliable-message, or the service could not reach its database',
    );
  });

  it("the service's refusal is a ValidationError naming the field", () => {
    const refusal = ApplicationFailure.create({
      type: FailureType.registrationRefused,
      message: "tagExpression must be '*' or tags joined by '||'",
      details: ['tagExpression', "must be '*' or tags joined by '||'"],
      nonRetryable: true,
    });
    const failed = new WorkflowFailedError(
      'Workflow execution failed',
      new ActivityFailure('Activity task failed', 'register', '1', 'NON_RETRYABLE_FAILURE', undefined, refusal),
      'NON_RETRYABLE_FAILURE',
    );
    const err = registrationFailure(failed, 'reliable-message');
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'tagExpression', message: "tagExpression must be '*' or tags joined by '||'" });
  });
});
