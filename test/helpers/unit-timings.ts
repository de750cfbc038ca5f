import type { Timings } from '../../workflows/definitions.js';

/** The defaults the fake resolveTimings gives every message: waits of a fraction of a second (the local Temporal fires timers to within about a second). */
export const UNIT_TIMINGS: Timings = {
  checkBackAfterMs: 100,
  checkBackBackoff: 1.5,
  maxCheckBackIntervalMs: 500,
  confirmDeadlineMs: 30_000,
  resendAfterMs: 200,
  resendBackoff: 1.5,
  maxResendIntervalMs: 1000,
  maxSends: 3,
  checkBackTimeoutMs: 2000,
};
