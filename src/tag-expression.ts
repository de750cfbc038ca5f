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
