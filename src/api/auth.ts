import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { ApiError } from './errors.js';

/** True when no token is configured: the API is then open, and only ever bound to loopback. */
export function authDisabled(api: Config['api']): boolean {
  return !api.readToken && !api.writeToken;
}

/** Compares digests, so neither the length nor the content of a token leaks through timing. */
function same(given: string, expected: string | undefined): boolean {
  if (!expected) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Bearer-token check by the route's access: `open` routes pass; `read` takes the read or the write
 * token; `write` takes only the write token. Unknown routes count as `read`, so they do not reveal
 * which paths exist to callers without a token.
 */
export function authHook(api: Config['api']) {
  return async (req: FastifyRequest): Promise<void> => {
    const access = req.routeOptions.config?.access ?? 'read';
    if (access === 'open' || authDisabled(api)) return;
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw new ApiError(401, 'UNAUTHORIZED', 'authorization must be "Bearer <token>"', 'authorization');
    const granted = grantedAccess(api, header);
    if (!granted) throw new ApiError(401, 'UNAUTHORIZED', 'authorization token is not valid', 'authorization');
    if (access === 'write' && granted !== 'write')
      throw new ApiError(
        403,
        'FORBIDDEN',
        'authorization token is read-only; this route needs the write token',
        'authorization',
      );
  };
}

/** What an authorization header grants: `write`, `read`, or nothing. Everything, with auth disabled. */
export function grantedAccess(api: Config['api'], header: string | undefined): 'read' | 'write' | undefined {
  if (authDisabled(api)) return 'write';
  const token = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  if (!token) return undefined;
  if (same(token, api.writeToken)) return 'write';
  return same(token, api.readToken) ? 'read' : undefined;
}
