import { describe, expect, it } from 'vitest';
import { errorClassOf } from '../../src/operators/selection.js';

describe('errorClassOf (DEAD triage groups by it)', () => {
  it('takes out what varies between messages: numbers, ids, quoted values, hex, uuids', () => {
    const a = errorClassOf('timeout after 3012 ms calling stock-7 for "order-17"');
    const b = errorClassOf('timeout after 2990 ms calling stock-3 for "order-18"');
    expect(a).toBe(b);
    expect(a).toBe('timeout after <n> ms calling stock-<n> for <s>');
    expect(errorClassOf('row 0badc0ffee0badc0ffee locked by 6f1c2a1e-8d3b-4b7a-9c2d-1a2b3c4d5e6f')).toBe(
      'row <hex> locked by <uuid>',
    );
  });

  it('keeps what tells errors apart, uses the first line, and names a missing error', () => {
    expect(errorClassOf('schema mismatch')).not.toBe(errorClassOf('connection refused'));
    expect(errorClassOf('Error: boom\n    at handler (x.ts:1:2)')).toBe('Error: boom');
    expect(errorClassOf(null)).toBe('(no error)');
    expect(errorClassOf('   ')).toBe('(no error)');
    expect(errorClassOf('x'.repeat(500))).toHaveLength(160);
  });
});
