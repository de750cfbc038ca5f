import { describe, expect, it } from 'vitest';
import { mergeReports } from '../../src/consumer/report-outbox.js';
import { registrationWorkflowId } from '../../src/temporal/registration.js';
import type { Ack } from '../../workflows/definitions.js';

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
