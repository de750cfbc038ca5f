import { z } from 'zod';

/**
 * A subscription's tag expression, as every writer takes it (the API, the SDK registrations and
 * the consumer SDK's tags): `*`, or tags joined by `||`.
 */
export const tagExpressionSchema = z
  .string({ error: 'must be a string' })
  .max(512, 'must be at most 512 characters')
  .regex(/^\s*(\*|[^|*\s]+(\s*\|\|\s*[^|*\s]+)*)?\s*$/, "must be '*' or tags joined by '||'");

/**
 * RocketMQ tag expressions: `*` (or empty) matches every tag, `a || b` matches either. A message
 * without a tag matches only `*`.
 */
export function tagMatches(expression: string, tag: string | undefined): boolean {
  const trimmed = expression.trim();
  if (trimmed === '' || trimmed === '*') return true;
  if (tag === undefined) return false;
  return parseTags(trimmed).includes(tag);
}

export function parseTags(expression: string): string[] {
  return expression
    .split('||')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}
