import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { MAX_KEY_LENGTH } from '../names.js';
import { authHook } from './auth.js';
import type { ApiDeps } from './deps.js';
import { ApiError, clientErrorHandler, errorHandler } from './errors.js';
import { securityHeaders, writeRateLimit } from './hardening.js';
import { MAX_REQUEST_BYTES } from './limits.js';
import { openApiDocument } from './openapi.js';
import { type AnyRoute, mountRoutes, route } from './route.js';
import { auditRoutes } from './routes/audits.js';
import { checkBackRoutes } from './routes/check-backs.js';
import { allowTemporalUiOrigin, codecRoutes } from './routes/codec.js';
import { consoleRoutes } from './routes/console.js';
import { messageActionRoutes } from './routes/message-actions.js';
import { messageRoutes } from './routes/messages.js';
import { operationRoutes } from './routes/operations.js';
import { redriveRoutes } from './routes/redrives.js';
import { statsRoutes } from './routes/stats.js';
import { subscriptionRoutes } from './routes/subscriptions.js';
import { tokenRoutes } from './routes/tokens.js';

export type { ApiDeps } from './deps.js';

/**
 * The HTTP API as a fastify instance, not listening: tests `inject` into it or `listen({ port: 0 })`,
 * `startApi` binds it. Closing it does not close the deps (the caller owns them).
 */
export function createApi(deps: ApiDeps): FastifyInstance {
  const log = deps.log.child({ component: 'api' });
  const app = Fastify({
    loggerInstance: log,
    // Errors are logged by the error handler; a line per request would drown the worker's logs.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_REQUEST_BYTES,
    // The longest valid key with every character percent-encoded (names are shorter).
    routerOptions: { maxParamLength: 3 * MAX_KEY_LENGTH },
    // The router's and the HTTP parser's refusals answer in the API's shape too.
    frameworkErrors: (err, req, reply) => errorHandler(log)(err, req, reply),
    clientErrorHandler,
  }) as unknown as FastifyInstance;
  app.setErrorHandler(errorHandler(log));
  app.setNotFoundHandler((req) => {
    throw new ApiError(
      404,
      'NOT_FOUND',
      `url ${req.method} ${req.url.split('?')[0]} is not a route of this API`,
      'url',
    );
  });
  app.addHook('onRequest', securityHeaders);
  app.addHook('onRequest', authHook(deps.config.api, deps.prisma));
  app.addHook('preHandler', writeRateLimit(deps.config.api.writeRateLimitPerMinute));
  allowTemporalUiOrigin(app, deps.config.temporal.uiUrl);

  const routes: AnyRoute[] = [
    ...messageRoutes(deps),
    ...messageActionRoutes(deps),
    ...subscriptionRoutes(deps),
    ...checkBackRoutes(deps, 'producer'),
    ...checkBackRoutes(deps, 'consumer'),
    ...statsRoutes(deps),
    ...operationRoutes(deps),
    ...tokenRoutes(deps),
    ...codecRoutes(deps),
    ...redriveRoutes(deps),
    ...auditRoutes(deps),
    ...consoleRoutes(deps),
  ];
  let document: Record<string, unknown> | undefined;
  routes.push(
    route({
      method: 'GET',
      path: '/openapi.json',
      access: 'open',
      tag: 'operations',
      summary: 'This OpenAPI 3.1 document',
      responses: { 200: { description: 'The document' } },
      handler: async () => document,
    }),
  );
  document = openApiDocument(routes);
  mountRoutes(app, routes);
  return app;
}
