import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { type Config, loadConfig } from '../config.js';

/** With `callerRetries`: the client's own retries of a failed call (10 by default, about 20 s). */
const CALLER_RETRIES_GRPC_ATTEMPTS = 4;
/** With `callerRetries`: the longest gap between reconnects to a Temporal that was down (gRPC's default: 120 s). */
const CALLER_RETRIES_MAX_RECONNECT_BACKOFF_MS = 5000;

/**
 * A Temporal client for a server; close it with `client.connection.close()`. `callerRetries` is for
 * callers that retry failed calls themselves through an outage: the client then gives up a call
 * sooner, and reconnects soon after the server is back rather than up to two minutes later.
 */
export async function connectTemporalClient(
  temporal: Pick<Config['temporal'], 'address' | 'namespace'>,
  { callerRetries = false }: { callerRetries?: boolean } = {},
): Promise<Client> {
  const connection = await Connection.connect({
    address: temporal.address,
    ...(callerRetries && {
      interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: CALLER_RETRIES_GRPC_ATTEMPTS }))],
      channelArgs: { 'grpc.max_reconnect_backoff_ms': CALLER_RETRIES_MAX_RECONNECT_BACKOFF_MS },
    }),
  }).catch((err: unknown) => {
    // gRPC's own message ("Failed to connect before the deadline") does not say what it tried to reach.
    throw new Error(`cannot reach Temporal at ${temporal.address}: ${err instanceof Error ? err.message : err}`, {
      cause: err,
    });
  });
  return new Client({ connection, namespace: temporal.namespace });
}

/**
 * Where the SDKs connect when their options leave it open: the same environment variables and
 * local-stack defaults as the service's own configuration.
 */
export function sdkEndpoints(
  given: { temporal?: { address?: string; namespace?: string }; taskQueue?: string; rocketmq?: { endpoints?: string } },
  env: NodeJS.ProcessEnv = process.env,
): { address: string; namespace: string; serviceTaskQueue: string; rocketmqEndpoints: string } {
  const defaults = loadConfig(env);
  return {
    address: given.temporal?.address ?? defaults.temporal.address,
    namespace: given.temporal?.namespace ?? defaults.temporal.namespace,
    serviceTaskQueue: given.taskQueue ?? defaults.temporal.taskQueue,
    rocketmqEndpoints: given.rocketmq?.endpoints ?? defaults.rocketmq.endpoints,
  };
}
