import { describe, expect, it } from 'vitest';
import { checkBackAnswerOf } from '../../activities/check-back.js';

describe('HTTP check-back answers', () => {
  it('takes a JSON status string or the trimmed text, and never coerces anything into an answer', () => {
    expect(checkBackAnswerOf('{"status":"COMMIT"}')).toBe('COMMIT');
    expect(checkBackAnswerOf('ROLLBACK\n')).toBe('ROLLBACK');
    // Not well-formed: returned as sent, so the workflow records MALFORMED and asks again later.
    expect(checkBackAnswerOf('{"status":["COMMIT"]}')).toBe('{"status":["COMMIT"]}');
    expect(checkBackAnswerOf('"COMMIT"')).toBe('"COMMIT"');
    expect(checkBackAnswerOf('{}')).toBe('{}');
    expect(checkBackAnswerOf('null')).toBe('null');
    expect(checkBackAnswerOf('x'.repeat(10_000))).toHaveLength(256);
  });
});
