import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ValidationError } from '../../src/errors.js';
import { checkRetention } from '../../src/local-table-purge.js';
import { parseMessageSpec } from '../../src/message-spec.js';
import { MAX_CONFIRM_DEADLINE_MS, MIN_LOCAL_RETENTION_MS, resolveTimings } from '../../src/timings.js';

const spec = (timings: Record<string, unknown>) => ({ key: 'k', topic: 't', body: 'b', producerGroup: 'p', timings });
const refusal = (timings: Record<string, unknown>) => {
  try {
    parseMessageSpec(spec(timings));
  } catch (err) {
    return err instanceof ValidationError ? `${err.field}: ${err.message}` : String(err);
  }
  return 'accepted';
};

describe('timing limits', () => {
  it('refuses per-message timings out of their range, naming the field and the rule', () => {
    expect(refusal({ checkBackAfterMs: 0 })).toBe(
      'timings.checkBackAfterMs: timings.checkBackAfterMs must be at least 1 ms',
    );
    expect(refusal({ checkBackBackoff: 1e308 })).toMatch(/^timings\.checkBackBackoff: .* must be at most 10$/);
    expect(refusal({ maxSends: 1000 })).toMatch(/^timings\.maxSends: .* must be at most 100$/);
    expect(refusal({ confirmDeadlineMs: MAX_CONFIRM_DEADLINE_MS + 1 })).toMatch(/must be at most 604800000 ms$/);
    expect(refusal({ resendAfterMs: 1.5 })).toMatch(/must be a whole number/);
    expect(refusal({ bogus: 1 })).toMatch(/unknown field/);
    expect(refusal({ maxSends: 3, resendBackoff: 1.5 })).toBe('accepted');
  });

  it('the service config follows the same rules', () => {
    expect(() => loadConfig({ RMSG_CHECK_BACK_BACKOFF: '50' })).toThrow(
      /timings\.checkBackBackoff: must be at most 10/,
    );
    expect(() => loadConfig({ RMSG_CONFIRM_DEADLINE_MS: String(30 * 86_400_000) })).toThrow(/confirmDeadlineMs/);
    expect(loadConfig({}).timings.confirmDeadlineMs).toBe(86_400_000);
  });

  it('raises a message asking below the service floor to the floor; defaults and longer values stand', () => {
    const defaults = loadConfig({}).timings;
    const resolved = resolveTimings(defaults, { checkBackAfterMs: 5, resendAfterMs: 90_000 }, 1000);
    expect(resolved.checkBackAfterMs).toBe(1000);
    expect(resolved.resendAfterMs).toBe(90_000);
    expect(resolveTimings(defaults, { checkBackAfterMs: 5 }, 1).checkBackAfterMs).toBe(5);
  });

  it("the producer's local table outlives the longest confirm deadline", () => {
    expect(MIN_LOCAL_RETENTION_MS).toBeGreaterThan(MAX_CONFIRM_DEADLINE_MS);
    expect(checkRetention(undefined, MIN_LOCAL_RETENTION_MS)).toBe(MIN_LOCAL_RETENTION_MS);
    expect(() => checkRetention(MAX_CONFIRM_DEADLINE_MS, MIN_LOCAL_RETENTION_MS)).toThrow(
      /retentionMs must be at least 691200000 ms/,
    );
    expect(checkRetention(false, MIN_LOCAL_RETENTION_MS)).toBe(false);
  });
});
