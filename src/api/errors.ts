import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import {
  InvalidTransitionError,
  KeyConflictError,
  KeyReusedError,
  MessageNotFoundError,
  MessageOpeningError,
  NotASubscriberError,
  TopicMismatchError,
  ValidationError,
} from '../errors.js';
import type { Logger } from '../logger.js';
import { toValidationError } from '../message-spec.js';
import { MAX_REQUEST_BYTES } from './limits.js';

/** Every error the API answers, as JSON: a stable code, a message naming the field, and the field. */
export interface ErrorBody {
  code: string;
  message: string;
  field?: string;
}

/** An error with its own HTTP status (auth, a missing registration, ...). */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Where a request part failed validation; a failure of the part as a whole is named after it. */
export type RequestPart = 'params' | 'query' | 'requestBody';

/**
 * A zod failure as a ValidationError naming the field. An unknown field is named itself (not its
 * parent), so `{"bogus": 1}` answers `field: "bogus"`.
 */
export function validationErrorOf(error: z.ZodError, part: RequestPart): ValidationError {
  const issue = error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const field = [...issue.path, issue.keys[0]].join('.');
    const others = issue.keys.slice(1);
    return new ValidationError(field, `is not a known field${others.length ? ` (nor ${others.join(', ')})` : ''}`);
  }
  if (issue?.path.length === 0)
    return new ValidationError(part, issue.code === 'invalid_type' ? 'must be a JSON object' : issue.message);
  return toValidationError(error);
}

/** Fastify's own request errors (body parsing, limits), mapped to the same shape. */
const FASTIFY_ERRORS: Record<string, (err: FastifyError) => [number, ErrorBody]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => [
    413,
    {
      code: 'PAYLOAD_TOO_LARGE',
      field: 'requestBody',
      message: `requestBody must be at most ${MAX_REQUEST_BYTES} bytes`,
    },
  ],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => [
    415,
    { code: 'UNSUPPORTED_MEDIA_TYPE', field: 'content-type', message: 'content-type must be application/json' },
  ],
  FST_ERR_CTP_EMPTY_JSON_BODY: () => [
    400,
    {
      code: 'VALIDATION_FAILED',
      field: 'requestBody',
      message: 'requestBody must not be empty with a JSON content-type',
    },
  ],
  FST_ERR_MAX_PARAM_LENGTH: () => [
    414,
    { code: 'URI_TOO_LONG', field: 'url', message: `url has a path parameter longer than any valid key or name` },
  ],
  FST_ERR_BAD_URL: () => [
    400,
    { code: 'VALIDATION_FAILED', field: 'url', message: 'url is not valid percent-encoded UTF-8' },
  ],
  FST_ERR_CTP_INVALID_JSON_BODY: (err) => [
    400,
    { code: 'VALIDATION_FAILED', field: 'requestBody', message: `requestBody must be valid JSON: ${err.message}` },
  ],
};

/**
 * Maps any thrown error to a status and an ErrorBody. Unexpected ones are logged with the request id
 * and answered 500 with that id only: their text may name hosts, tables or SQL.
 */
export function toHttpError(err: unknown, log: Logger, requestId: string): [number, ErrorBody] {
  if (err instanceof ValidationError) return [400, { code: err.code, message: err.message, field: err.field }];
  if (err instanceof MessageNotFoundError) return [404, { code: err.code, message: err.message, field: 'key' }];
  if (err instanceof InvalidTransitionError || err instanceof KeyConflictError || err instanceof KeyReusedError)
    return [409, { code: err.code, message: err.message, field: 'key' }];
  if (err instanceof NotASubscriberError) return [409, { code: err.code, message: err.message, field: 'group' }];
  if (err instanceof MessageOpeningError) return [503, { code: err.code, message: err.message, field: 'key' }];
  if (err instanceof TopicMismatchError) return [409, { code: err.code, message: err.message, field: err.field }];
  if (err instanceof ApiError) return [err.statusCode, { code: err.code, message: err.message, field: err.field }];
  const fe = err as Partial<FastifyError>;
  const known = fe.code ? FASTIFY_ERRORS[fe.code] : undefined;
  if (known) return known(fe as FastifyError);
  if (typeof fe.statusCode === 'number' && fe.statusCode < 500) {
    return [fe.statusCode, { code: 'BAD_REQUEST', field: 'requestBody', message: `request ${fe.message}` }];
  }
  log.error({ err, requestId }, 'API request failed');
  return [
    500,
    { code: 'INTERNAL_ERROR', message: `internal error (request ${requestId}); the service log has the cause` },
  ];
}

/**
 * Errors the HTTP parser finds before fastify sees a request (headers too large, a timeout, garbage),
 * written straight to the socket in the same shape.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, body]: [number, string, ErrorBody] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'Request Header Fields Too Large',
          {
            code: 'HEADERS_TOO_LARGE',
            field: 'headers',
            message: 'headers are larger than the server accepts (16 KiB)',
          },
        ]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', { code: 'REQUEST_TIMEOUT', message: 'request was not received in time' }]
        : [400, 'Bad Request', { code: 'BAD_REQUEST', message: 'request is not valid HTTP' }];
  const json = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${json}`,
    );
  }
  socket.destroy(err);
}

export function errorHandler(log: Logger) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const [status, body] = toHttpError(err, log, req.id);
    if (status === 401) void reply.header('www-authenticate', 'Bearer');
    return reply.code(status).send(body);
  };
}
