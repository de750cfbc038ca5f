import { z } from 'zod';
import type { Logger } from '../logger.js';
import { endpointOverride, milliseconds, nameOption, parseSdkOptions } from '../sdk-options.js';

const clientOptionsSchema = z
  .object({
    temporal: z.object({ address: endpointOverride, namespace: endpointOverride }).optional(),
    /** The reliable-message service's task queue (its worker's). */
    taskQueue: endpointOverride,
    /** RocketMQ's name server (host:port), where prepare and send check a message's topic. */
    rocketmq: z.object({ namesrv: endpointOverride }).optional(),
    /** This upstream application's name; its check-back answers for its messages. */
    producerGroup: nameOption,
    /**
     * How long `serveCheckBack` waits for the service to confirm its registration before it returns
     * anyway (default 10 s); it keeps trying in the background, so a service that is down never
     * blocks your application's start.
     */
    registrationTimeoutMs: milliseconds.optional(),
    log: z.custom<Logger>().optional(),
  })
  .strict();

export type ClientOptions = z.input<typeof clientOptionsSchema>;
export type ResolvedClientOptions = z.output<typeof clientOptionsSchema>;

/** Validates the options; a ValidationError names the first bad field. */
export function parseClientOptions(options: ClientOptions): ResolvedClientOptions {
  return parseSdkOptions(clientOptionsSchema, options);
}
