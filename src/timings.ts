/**
 * A message's timings: the one home of their names, defaults, and limits. The service config takes its
 * defaults from here, a message's overrides are checked here, and the worker resolves the two here.
 */
import { z } from 'zod';
import type { Timings } from '../workflows/definitions.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The longest a message may wait for its confirm. The producer SDK keeps its local table a day longer
 * (MIN_LOCAL_RETENTION_MS), so a check-back can never answer ROLLBACK for a committed key whose row was purged.
 */
export const MAX_CONFIRM_DEADLINE_MS = 7 * DAY;
export const MIN_LOCAL_RETENTION_MS = MAX_CONFIRM_DEADLINE_MS + DAY;

interface Rule {
  default: number;
  /** The smallest value a message may ask for (1 ms: the service floor below is what protects production). */
  min: number;
  max: number;
  integer: boolean;
  /** Durations are raised to the service's floor (`timings.floorMs`) when a message asks for less. */
  duration: boolean;
}

const duration = (def: number, max: number): Rule => ({ default: def, min: 1, max, integer: true, duration: true });
const factor = (def: number): Rule => ({ default: def, min: 1, max: 10, integer: false, duration: false });

export const TIMING_RULES: Record<keyof Timings, Rule> = {
  /** Wait this long for confirm/cancel before the first check-back to the producer. */
  checkBackAfterMs: duration(30 * SECOND, DAY),
  checkBackBackoff: factor(2),
  maxCheckBackIntervalMs: duration(10 * MINUTE, DAY),
  /** Unconfirmed past this -> DEAD(UNCONFIRMED). */
  confirmDeadlineMs: duration(DAY, MAX_CONFIRM_DEADLINE_MS),
  /** First resend to groups that have not consumed. */
  resendAfterMs: duration(MINUTE, DAY),
  resendBackoff: factor(2),
  maxResendIntervalMs: duration(30 * MINUTE, DAY),
  maxSends: { default: 8, min: 1, max: 100, integer: true, duration: false },
  /** How long one check-back call may take before it counts as an error. */
  checkBackTimeoutMs: duration(10 * SECOND, 5 * MINUTE),
};

function ruleSchema(rule: Rule, coerce: boolean) {
  const base = coerce ? z.coerce.number() : z.number({ error: 'must be a number' });
  const number = rule.integer ? base.int('must be a whole number') : base;
  const unit = rule.duration ? ' ms' : '';
  return number
    .min(rule.min, `must be at least ${rule.min}${unit}`)
    .max(rule.max, `must be at most ${rule.max}${unit}`);
}

const entries = Object.entries(TIMING_RULES) as [keyof Timings, Rule][];

/** The service's defaults (`RMSG_*` variables), each within its rule. */
export const timingsConfigSchema = z.object(
  Object.fromEntries(entries.map(([name, rule]) => [name, ruleSchema(rule, true).default(rule.default)])) as {
    [K in keyof Timings]: z.ZodDefault<z.ZodNumber>;
  },
);

/** A message's overrides: any subset, each within its rule, nothing unknown. */
export const timingsOverrideSchema = z
  .object(
    Object.fromEntries(entries.map(([name, rule]) => [name, ruleSchema(rule, false)])) as {
      [K in keyof Timings]: z.ZodNumber;
    },
  )
  .partial()
  .strict();

/**
 * A message's timings: the service's defaults with its own overrides on top. Durations below the service
 * floor are raised to it (production keeps a message from asking every millisecond; tests lower the
 * floor). A first interval longer than its cap raises the cap, so an override is never cut short.
 */
export function resolveTimings(defaults: Timings, overrides: Partial<Timings>, floorMs: number): Timings {
  const t = { ...defaults, ...overrides };
  for (const [name, rule] of entries) {
    if (rule.duration && overrides[name] !== undefined) t[name] = Math.max(t[name], floorMs);
  }
  return {
    ...t,
    maxResendIntervalMs: Math.max(t.maxResendIntervalMs, t.resendAfterMs),
    maxCheckBackIntervalMs: Math.max(t.maxCheckBackIntervalMs, t.checkBackAfterMs),
  };
}
