import { z } from 'zod';
import type { AnyRoute } from './route.js';

type JsonSchema = Record<string, unknown>;

/** JSON Schema 2020-12 is OpenAPI 3.1's own dialect; only the `$schema` line is left out. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** Path and query schemas become one OpenAPI parameter per property. */
function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const s = jsonSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, prop]) => {
    const { description, ...rest } = prop;
    return {
      name,
      in: where,
      required: where === 'path' || (s.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/** `POST /v1/messages/{key}/confirm` -> `postV1MessagesByKeyConfirm`: stable names for client generators. */
function operationId(r: AnyRoute): string {
  const words = r.path
    .replace(/\{(\w+)\}/g, 'by/$1')
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean);
  return r.method.toLowerCase() + words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('');
}

function operation(r: AnyRoute): JsonSchema {
  const responses: JsonSchema = {};
  for (const [status, spec] of Object.entries(r.responses)) {
    responses[status] = {
      description: spec.description,
      ...(spec.schema
        ? { content: { [spec.contentType ?? 'application/json']: { schema: jsonSchema(spec.schema, 'output') } } }
        : spec.contentType
          ? { content: { [spec.contentType]: { schema: { type: 'string' } } } }
          : {}),
    };
  }
  return {
    operationId: operationId(r),
    tags: [r.tag],
    summary: r.summary,
    ...(r.description ? { description: r.description } : {}),
    parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
    ...(r.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } } }
      : {}),
    responses,
    security: r.access === 'open' ? [] : [{ bearer: [] }],
  };
}

/** The OpenAPI 3.1 document, made from the very zod schemas that validate the requests. */
export function openApiDocument(routes: AnyRoute[]): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const r of routes) {
    const ops = paths[r.path] ?? {};
    ops[r.method.toLowerCase()] = operation(r);
    paths[r.path] = ops;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'reliable-message',
      version: '1',
      description:
        'Reliable-message eventual consistency: prepare, confirm or cancel (with check-back), publish to ' +
        'RocketMQ, per-subscriber acks with resends. Every error is JSON {code, message, field?}. Read ' +
        'routes take the read or the write token; write routes only the write token.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
