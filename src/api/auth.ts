import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { PrismaClient } from '../db/prisma.js';
import { ApiError } from './errors.js';

/**
 * Who a caller is. Operators may do everything; a producer token acts for one producer group, a
 * consumer token for one consumer group; readers read. SECURITY.md lists every right of every role.
 */
export const ROLES = ['operator', 'producer', 'consumer', 'reader'] as const;
export type Role = (typeof ROLES)[number];
export interface Principal {
  role: Role;
  /** The group a producer or consumer token acts for. */
  group?: string;
  /** The token's id (`env-operator`, `env-reader`, `open` without auth), for logs and rate limits. */
  id: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook; undefined for an anonymous caller of an open route. */
    principal?: Principal;
  }
}

/** A group resolved from the parsed request (a path or body field, or the message's producer group). */
export type GroupOf<I> = (input: I) => string | Promise<string>;

/**
 * What a route allows besides operators: `open` anyone; `read` readers; `operator` nobody else;
 * or rights: readers (`read`), the producer or consumer of the group the route resolves.
 */
export type Access<I = never> =
  | 'open'
  | 'read'
  | 'operator'
  | { read?: true; producer?: GroupOf<I>; consumer?: GroupOf<I> };

/** True when no token is configured: the API is then open, and only ever bound to loopback. */
export function authDisabled(api: Config['api']): boolean {
  return !api.readToken && !api.writeToken;
}

/** SHA-256 of a token: what rm_api_token keeps, and how a bearer token is looked up. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Compares digests, so neither the length nor the content of a token leaks through timing. */
function same(given: string, expected: string | undefined): boolean {
  if (!expected) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

const noBearer = () => new ApiError(401, 'UNAUTHORIZED', 'authorization must be "Bearer <token>"', 'authorization');

/** last_used_at is written at most once a minute per token, not on every request. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Finds the caller behind a bearer token: the env write token is an operator, the env read token a
 * reader, any other token is looked up by its hash in rm_api_token (revoked ones do not count).
 */
export function authenticator(api: Config['api'], prisma: PrismaClient) {
  const touched = new Map<string, number>();
  return async (token: string): Promise<Principal | undefined> => {
    if (same(token, api.writeToken)) return { role: 'operator', id: 'env-operator' };
    if (same(token, api.readToken)) return { role: 'reader', id: 'env-reader' };
    const row = await prisma.apiToken.findUnique({ where: { tokenHash: tokenHash(token) } });
    if (!row || row.revokedAt) return undefined;
    if (Date.now() - (touched.get(row.id) ?? 0) > TOUCH_EVERY_MS) {
      touched.set(row.id, Date.now());
      await prisma.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
    }
    return { role: row.role as Role, group: row.group ?? undefined, id: row.id };
  };
}

/**
 * Authentication for every request: sets `req.principal` or answers 401. Open routes let anonymous
 * callers through (and still recognise a valid token, so /healthz can tell them more). Unknown
 * routes need a token, so they do not reveal which paths exist.
 */
export function authHook(api: Config['api'], prisma: PrismaClient) {
  const authenticate = authenticator(api, prisma);
  return async (req: FastifyRequest): Promise<void> => {
    if (authDisabled(api)) {
      req.principal = { role: 'operator', id: 'open' };
      return;
    }
    const open = req.routeOptions.config?.access === 'open';
    const header = req.headers.authorization;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match?.[1]) {
      if (open) return;
      throw noBearer();
    }
    req.principal = await authenticate(match[1]);
    if (!req.principal && !open)
      throw new ApiError(401, 'UNAUTHORIZED', 'authorization token is not valid', 'authorization');
  };
}

const whoIs = (p: Principal) => (p.group ? `a ${p.role} token of group ${p.group}` : `a ${p.role} token`);

/**
 * Whether the caller may call the route with this input; a refusal is a 403 whose code names the
 * missing right (OPERATOR_RIGHT_REQUIRED, READ_RIGHT_REQUIRED, PRODUCER_RIGHT_REQUIRED,
 * CONSUMER_RIGHT_REQUIRED). Runs before the handler, so a refused request writes nothing; the input
 * is parsed (and may answer 400) only for a caller whose role the route allows.
 */
export async function authorize(
  principal: Principal | undefined,
  access: Access<never>,
  input: () => unknown,
): Promise<void> {
  if (access === 'open' || principal?.role === 'operator') return;
  if (!principal) throw noBearer();
  const rights = access === 'read' ? { read: true as const } : access === 'operator' ? {} : access;
  if (rights.read && principal.role === 'reader') return;
  for (const role of ['producer', 'consumer'] as const) {
    const groupOf = rights[role];
    if (!groupOf || principal.role !== role) continue;
    const group = await groupOf(input() as never);
    if (group === principal.group) return;
    throw new ApiError(
      403,
      `${role.toUpperCase()}_RIGHT_REQUIRED`,
      `this request needs the ${role} right of group ${group}; the caller has ${whoIs(principal)}`,
      'authorization',
    );
  }
  const needed = rights.read ? 'read' : rights.producer ? 'producer' : rights.consumer ? 'consumer' : 'operator';
  const wanted = [
    rights.read ? 'the read right' : undefined,
    rights.producer ? 'the producer right of its group' : undefined,
    rights.consumer ? 'the consumer right of its group' : undefined,
    'the operator right',
  ].filter(Boolean);
  throw new ApiError(
    403,
    `${needed.toUpperCase()}_RIGHT_REQUIRED`,
    `this route needs ${wanted.join(' or ')}; the caller has ${whoIs(principal)}`,
    'authorization',
  );
}
