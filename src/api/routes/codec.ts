import type { Payload } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AesGcmCodec, codecKeysOf } from '../../temporal/codec.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { type AnyRoute, route } from '../route.js';
import { errors } from '../schemas/common.js';

/** Payloads as Temporal UI and `temporal` CLI send them to a codec server: bytes in base64. */
const jsonPayloads = z
  .object({
    payloads: z.array(
      z.object({
        metadata: z.record(z.string(), z.base64({ error: 'must be base64' })).optional(),
        data: z.base64({ error: 'must be base64' }).optional(),
      }),
    ),
  })
  .loose();
type JsonPayloads = z.output<typeof jsonPayloads>;

const toPayloads = (body: JsonPayloads): Payload[] =>
  body.payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  }));
const fromPayloads = (payloads: Payload[]): JsonPayloads => ({
  payloads: payloads.map((p) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  })),
});

/**
 * The codec server for Temporal UI (Settings > Codec Server: `<API URL>/v1/codec`) and
 * `temporal workflow show --codec-endpoint`: operators read decrypted payloads, nobody else.
 */
export function codecRoutes({ config }: ApiDeps): AnyRoute[] {
  const keys = codecKeysOf(config.codec);
  const codec = keys ? new AesGcmCodec(keys) : undefined;
  const run = async (op: 'encode' | 'decode', body: JsonPayloads) => {
    if (!codec) throw new ApiError(404, 'CODEC_OFF', 'payload encryption is off (RMSG_CODEC_KEYS is not set)', 'url');
    return fromPayloads(await codec[op](toPayloads(body)));
  };
  return (['decode', 'encode'] as const).map((op) =>
    route({
      method: 'POST',
      path: `/v1/codec/${op}`,
      access: 'operator',
      tag: 'operations',
      summary: `Codec server: ${op} payloads (Temporal UI, temporal CLI)`,
      body: jsonPayloads,
      responses: { 200: { description: `The payloads, ${op}d`, schema: jsonPayloads }, ...errors },
      handler: ({ body }) => run(op, body),
    }),
  );
}

/**
 * Temporal UI calls the codec server from the browser, from its own origin: CORS for that origin
 * only, on the codec routes only (the preflight carries no token, so it is open).
 */
export function allowTemporalUiOrigin(app: FastifyInstance, uiUrl: string): void {
  const origin = new URL(uiUrl).origin;
  const cors = {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-allow-headers': 'authorization, content-type, x-namespace',
    'access-control-allow-methods': 'POST',
    vary: 'origin',
  };
  app.addHook('onSend', async (req, reply) => {
    if (req.url.startsWith('/v1/codec/') && req.headers.origin === origin) reply.headers(cors);
  });
  app.route({
    method: 'OPTIONS',
    url: '/v1/codec/:op',
    config: { access: 'open' },
    handler: async (_req, reply) => reply.code(204).send(),
  });
}
