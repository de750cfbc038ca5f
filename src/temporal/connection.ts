import type { TLSConfig } from '@temporalio/client';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { definedOnly, readPem } from '../config-parse.js';
import { withScopedSignal } from '../deadline.js';
import { loadSdkConfig, type SdkConfig } from '../sdk-config.js';
import { tracingClientInterceptors } from '../tracing.js';
import { dataConverterOf } from './codec.js';

/** Where and how to reach Temporal; settings left out come from the environment (src/sdk-config.ts). */
export type TemporalSettings = Pick<SdkConfig['temporal'], 'address'> & Partial<SdkConfig['temporal']>;

/** With `callerRetries`: the client's own retries of a failed call (10 by default, about 20 s). */
const CALLER_RETRIES_GRPC_ATTEMPTS = 4;
/** With `callerRetries`: the longest gap between reconnects to a Temporal that was down (gRPC's default: 120 s). */
const CALLER_RETRIES_MAX_RECONNECT_BACKOFF_MS = 5000;

/**
 * A Temporal client for a server, with the payload codec when one is configured; close it with
 * `client.connection.close()`. `callerRetries` is for callers that retry failed calls themselves through an
 * outage: the client then gives up a call sooner, and reconnects soon after the server is back rather than
 * up to two minutes later.
 */
export async function connectTemporalClient(
  temporal: TemporalSettings & Pick<SdkConfig['temporal'], 'namespace'>,
  codec: SdkConfig['codec'],
  { callerRetries = false }: { callerRetries?: boolean } = {},
): Promise<Client> {
  const connection = await Connection.connect({
    ...temporalConnectionOptions(temporal),
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
  return new Client({
    connection,
    namespace: temporal.namespace,
    interceptors: tracingClientInterceptors(),
    dataConverter: dataConverterOf(codec),
  });
}

/**
 * Runs `fn`'s Temporal calls abortable by `signal`. The client adds a listener to the signal for each
 * call and never removes it, so each run gets a signal of its own: a long-lived one (a stop, an activity's
 * cancellation) would otherwise collect one per call for as long as it lives.
 */
export function withAbortSignalOf<T>(client: Client, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  return withScopedSignal(signal, (scoped) => client.connection.withAbortSignal(scoped, fn));
}

/** The client's payload codecs, for a worker that must read and write the same payloads. */
export function dataConverterOfClient(client: Client): DataConverter {
  return { payloadCodecs: [...client.options.loadedDataConverter.payloadCodecs] };
}
/**
 * Address, TLS and API key for a Temporal connection (clients and workers alike). TLS is on when
 * asked for or implied by a certificate, a server name or an API key; the local dev server needs none.
 */
export function temporalConnectionOptions(
  given: TemporalSettings,
  env: NodeJS.ProcessEnv = process.env,
): { address: string; tls?: TLSConfig; apiKey?: string } {
  const t = { ...loadSdkConfig(env).temporal, ...definedOnly(given) };
  const tlsWanted =
    t.tls || Boolean(t.apiKey ?? t.tlsServerCaCertPath ?? t.tlsClientCertPath ?? t.tlsServerName ?? false);
  if (!tlsWanted) return { address: t.address };
  const tls: TLSConfig = {};
  if (t.tlsServerName) tls.serverNameOverride = t.tlsServerName;
  if (t.tlsServerCaCertPath)
    tls.serverRootCACertificate = readPem(t.tlsServerCaCertPath, 'temporal.tlsServerCaCertPath');
  if (t.tlsClientCertPath && t.tlsClientKeyPath) {
    tls.clientCertPair = {
      crt: readPem(t.tlsClientCertPath, 'temporal.tlsClientCertPath'),
      key: readPem(t.tlsClientKeyPath, 'temporal.tlsClientKeyPath'),
    };
  }
  return { address: t.address, tls, ...(t.apiKey ? { apiKey: t.apiKey } : {}) };
}

/**
 * Where the SDKs connect when their options leave it open: the same environment variables and
 * local-stack defaults as the service's configuration, and none of the settings only the service reads.
 */
export function sdkEndpoints(
  given: {
    temporal?: { address?: string; namespace?: string };
    taskQueue?: string;
    rocketmq?: { endpoints?: string; namesrv?: string };
  },
  env: NodeJS.ProcessEnv = process.env,
): {
  address: string;
  namespace: string;
  serviceTaskQueue: string;
  /** RocketMQ's settings (credentials, TLS) with the given endpoints. */
  rocketmq: SdkConfig['rocketmq'];
  codec: SdkConfig['codec'];
} {
  const defaults = loadSdkConfig(env);
  return {
    codec: defaults.codec,
    address: given.temporal?.address ?? defaults.temporal.address,
    namespace: given.temporal?.namespace ?? defaults.temporal.namespace,
    serviceTaskQueue: given.taskQueue ?? defaults.temporal.taskQueue,
    rocketmq: {
      ...defaults.rocketmq,
      endpoints: given.rocketmq?.endpoints ?? defaults.rocketmq.endpoints,
      namesrv: given.rocketmq?.namesrv ?? defaults.rocketmq.namesrv,
    },
  };
}
