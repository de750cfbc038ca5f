import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * HTTP check-backs are signed, so a producer or consumer can tell the service's calls from anyone
 * else's: `x-rmsg-timestamp` (Unix seconds) and `x-rmsg-signature: v1=<hex HMAC-SHA256>` over
 * `METHOD\nPATH\nTIMESTAMP\nBODY` (PATH with its query string) with the group's secret.
 */
export const TIMESTAMP_HEADER = 'x-rmsg-timestamp';
export const SIGNATURE_HEADER = 'x-rmsg-signature';
/** How old a signed call a verifier accepts by default: covers clock skew, refuses old replays. */
export const DEFAULT_MAX_AGE_S = 300;

export interface SignedRequest {
  method: string;
  path: string;
  body: string;
}

function signature(secret: string, req: SignedRequest, timestamp: string): string {
  const mac = createHmac('sha256', secret).update(
    `${req.method.toUpperCase()}\n${req.path}\n${timestamp}\n${req.body}`,
  );
  return `v1=${mac.digest('hex')}`;
}

/** The headers the service adds to a check-back call. */
export function signCheckBack(secret: string, req: SignedRequest, nowMs = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signature(secret, req, timestamp) };
}

/** For a TypeScript check-back server: true when the call is the service's and not older than maxAgeS. */
export function verifyCheckBack(
  secret: string,
  req: SignedRequest & { headers: Record<string, string | string[] | undefined> },
  opts: { maxAgeS?: number; nowMs?: number } = {},
): boolean {
  const timestamp = req.headers[TIMESTAMP_HEADER];
  const given = req.headers[SIGNATURE_HEADER];
  if (typeof timestamp !== 'string' || typeof given !== 'string' || !/^\d+$/.test(timestamp)) return false;
  const ageS = Math.abs((opts.nowMs ?? Date.now()) / 1000 - Number(timestamp));
  if (ageS > (opts.maxAgeS ?? DEFAULT_MAX_AGE_S)) return false;
  const expected = Buffer.from(signature(secret, req, timestamp));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** A fresh secret for a group that registers a check-back URL without one (shown once). */
export function newCheckBackSecret(): string {
  return randomBytes(32).toString('base64url');
}
