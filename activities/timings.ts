import type { Timings } from '../workflows/definitions.js';

/**
 * A message's timings: the global defaults with its own overrides on top. A first interval longer
 * than the cap raises the cap, so an override is never silently cut short.
 */
export function resolveTimings(defaults: Timings, overrides: Partial<Timings>): Timings {
  const t = { ...defaults, ...overrides };
  return {
    ...t,
    maxResendIntervalMs: Math.max(t.maxResendIntervalMs, t.resendAfterMs),
    maxCheckBackIntervalMs: Math.max(t.maxCheckBackIntervalMs, t.checkBackAfterMs),
  };
}
