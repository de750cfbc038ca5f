import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { type Config, loadConfig } from '../config.js';

/**
 * A Temporal client for a server; close it with `client.connection.close()`. `grpcAttempts` lowers
 * the client's own retries of a failed call (10 by default, about 20 s) for callers that retry
 * themselves and must not wait that long.
 */
export async function connectTemporalClient(
  temporal: Pick<Config['temporal'], 'address' | 'namespace'>,
  { grpcAttempts }: { grpcAttempts?: number } = {},
): Promise<Client> {
  const connection = await Connection.connect({
    address: temporal.address,
    interceptors:
      grpcAttempts === undefined
        ? undefined
        : [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: grpcAttempts }))],
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
