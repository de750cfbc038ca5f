import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/**
 * Headers on every answer: the API serves JSON only, so browsers may not sniff, frame or embed it,
 * nor keep its answers (they hold message bodies and tokens).
 */
export async function securityHeaders(_req: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cache-control', 'no-store');
}

/**
 * At most `perMinute` write requests (anything but GET/HEAD/OPTIONS) per caller and minute: per token,
 * or per address without one. Fixed one-minute windows, in this process's memory.
 */
export function writeRateLimit(perMinute: number) {
  const windows = new Map<string, { start: number; count: number }>();
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (perMinute === 0 || req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return;
    const now = Date.now();
    const token = req.principal?.id;
    const caller = token && token !== 'open' ? token : `ip:${req.ip}`;
    let w = windows.get(caller);
    if (!w || now - w.start >= 60_000) {
      if (windows.size > 10_000) windows.clear(); // bounds memory against many callers
      w = { start: now, count: 0 };
      windows.set(caller, w);
    }
    w.count += 1;
    if (w.count > perMinute) {
      reply.header('retry-after', String(Math.ceil((w.start + 60_000 - now) / 1000)));
      throw new ApiError(
        429,
        'RATE_LIMITED',
        `at most ${perMinute} write requests a minute per caller (RMSG_API_WRITE_RATE_LIMIT)`,
        'authorization',
      );
    }
  };
}
