import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { type Config, loadConfig } from '../config.js';
import { dataConverterOf } from './codec.js';

/**
 * A Temporal client for a server, with the payload codec when one is configured; close it with
 * `client.connection.close()`.
 */
export async function connectTemporalClient(
  temporal: Pick<Config['temporal'], 'address' | 'namespace'>,
  codec: Config['codec'],
): Promise<Client> {
  const connection = await Connection.connect({ address: temporal.address });
  return new Client({ connection, namespace: temporal.namespace, dataConverter: dataConverterOf(codec) });
}

/** The client's payload codecs, for a worker that must read and write the same payloads. */
export function dataConverterOfClient(client: Client): DataConverter {
  return { payloadCodecs: [...client.options.loadedDataConverter.payloadCodecs] };
}

/**
 * Where the SDKs connect when their options leave it open: the same environment variables and
 * local-stack defaults as the service's own configuration.
 */
export function sdkEndpoints(
  given: { temporal?: { address?: string; namespace?: string }; taskQueue?: string; rocketmq?: { endpoints?: string } },
  env: NodeJS.ProcessEnv = process.env,
): {
  address: string;
  namespace: string;
  serviceTaskQueue: string;
  rocketmqEndpoints: string;
  codec: Config['codec'];
} {
  const defaults = loadConfig(env);
  return {
    codec: defaults.codec,
    address: given.temporal?.address ?? defaults.temporal.address,
    namespace: given.temporal?.namespace ?? defaults.temporal.namespace,
    serviceTaskQueue: given.taskQueue ?? defaults.temporal.taskQueue,
    rocketmqEndpoints: given.rocketmq?.endpoints ?? defaults.rocketmq.endpoints,
  };
}
