import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { type Access, authorize } from './auth.js';
import { type RequestPart, validationErrorOf } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access<never>;
  }
}

export interface ResponseSpec {
  description: string;
  /** Documents the JSON body; responses are not validated against it. */
  schema?: z.ZodType;
  /** Defaults to application/json. */
  contentType?: string;
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

/**
 * One route: its zod schemas validate the request and also make its OpenAPI entry, so the document
 * and the validation cannot drift apart.
 */
export interface RouteSpec<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** OpenAPI style: `/v1/messages/{key}`. */
  path: string;
  /** Who may call it besides operators (see auth.ts); checked on the parsed input, before the handler. */
  access: Access<{ params: Parsed<P>; query: Parsed<Q>; body: Parsed<B> }>;
  tag: string;
  summary: string;
  description?: string;
  params?: P;
  query?: Q;
  /** A request without a body is validated as `{}`, so a missing field is named, not the body. */
  body?: B;
  responses: Record<number, ResponseSpec>;
  handler: (
    input: { params: Parsed<P>; query: Parsed<Q>; body: Parsed<B> },
    req: FastifyRequest,
    reply: FastifyReply,
  ) => Promise<unknown>;
}

/** A route with its schema types erased, as the app and the OpenAPI builder hold them. */
export type AnyRoute = RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;

/** Keeps a route's schema types for its handler, then erases them. */
export function route<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<P, Q, B>): AnyRoute {
  return spec as unknown as AnyRoute;
}

function parse(schema: z.ZodType | undefined, value: unknown, part: RequestPart): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (!result.success) throw validationErrorOf(result.error, part);
  return result.data;
}

export function mountRoutes(app: FastifyInstance, routes: AnyRoute[]): void {
  for (const r of routes) {
    app.route({
      method: r.method,
      url: r.path.replace(/\{(\w+)\}/g, ':$1'),
      config: { access: r.access },
      handler: async (req, reply) => {
        let input: Parameters<AnyRoute['handler']>[0] | undefined;
        const parsed = () =>
          (input ??= {
            params: parse(r.params, req.params, 'params'),
            query: parse(r.query, req.query, 'query'),
            body: parse(r.body, req.body ?? {}, 'requestBody'),
          });
        await authorize(req.principal, r.access, parsed);
        return r.handler(parsed(), req, reply);
      },
    });
  }
}
