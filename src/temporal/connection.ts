import { Client, Connection } from '@temporalio/client';
import { type Config, loadConfig } from '../config.js';

/** A Temporal client for a server; close it with `client.connection.close()`. */
export async function connectTemporalClient(
  temporal: Pick<Config['temporal'], 'address' | 'namespace'>,
): Promise<Client> {
  const connection = await Connection.connect({ address: temporal.address });
  return new Client({ connection, namespace: temporal.namespace });
}

/**
 * Where the SDKs connect when their options leave it open: the same environment variables and
 * local-stack defaults as the service's own configuration.
 */
export function sdkEndpoints(
  given: {
    temporal?: { address?: string; namespace?: string };
    taskQueue?: string;
    rocketmq?: { endpoints?: string; namesrv?: string };
  },
  env: NodeJS.ProcessEnv = process.env,
): { address: string; namespace: string; serviceTaskQueue: string; rocketmqEndpoints: string; namesrv: string } {
  const defaults = loadConfig(env);
  return {
    address: given.temporal?.address ?? defaults.temporal.address,
    namespace: given.temporal?.namespace ?? defaults.temporal.namespace,
    serviceTaskQueue: given.taskQueue ?? defaults.temporal.taskQueue,
    rocketmqEndpoints: given.rocketmq?.endpoints ?? defaults.rocketmq.endpoints,
    namesrv: given.rocketmq?.namesrv ?? defaults.rocketmq.namesrv,
  };
}
