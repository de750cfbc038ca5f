import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** An on/off setting: a boolean, or `true`/`false`/`1`/`0` from the environment. */
export const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1');

/** Parses settings read from the environment; a bad one is an error naming the setting and its rule. */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  fromEnv: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
): z.output<S> {
  const parsed = schema.safeParse(mergeDefined(fromEnv, overrides));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

/** Reads a PEM file a setting names; a missing file is a configuration error naming the setting. */
export function readPem(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`invalid configuration: ${setting}: cannot read ${path} (${(err as Error).message})`);
  }
}

/** Drops undefined values, so defaults underneath apply (a spread would overwrite them). */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Deep merge that drops undefined values, so unset env vars fall through to the schema defaults. */
function mergeDefined(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const source of [base, over]) {
    for (const [k, v] of Object.entries(source)) {
      if (v === undefined || v === '') continue;
      const prev = out[k];
      out[k] =
        isPlainObject(v) && isPlainObject(prev) ? mergeDefined(prev, v) : isPlainObject(v) ? mergeDefined({}, v) : v;
    }
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
