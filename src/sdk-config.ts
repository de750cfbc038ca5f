import { z } from 'zod';
import { flag, parseConfig } from './config-parse.js';

/**
 * The settings the SDKs read: where Temporal and RocketMQ are, the service's task queue, the payload
 * codec. Parsed on their own, so a bad setting that only the service reads never stops an application
 * using an SDK; the service's configuration (src/config.ts) is made of these and its own.
 */
export const sdkConfigShape = {
  temporal: z
    .object({
      address: z.string().default('127.0.0.1:7233'),
      namespace: z.string().default('default'),
      taskQueue: z.string().default('reliable-message'),
      uiUrl: z.string().url().default('http://127.0.0.1:8233'),
      /**
       * Managed services (Temporal Cloud, a cluster behind TLS). TLS is on when `tls` is set or any
       * setting below is; the local dev server needs none of them.
       */
      tls: flag.default(false),
      /** PEM file of the CA that signed the server's certificate, when it is not publicly trusted. */
      tlsServerCaCertPath: z.string().min(1).optional(),
      /** Overrides the server name checked against its certificate (SNI). */
      tlsServerName: z.string().min(1).optional(),
      /** Client certificate and key (PEM files) for mutual TLS; both or neither. */
      tlsClientCertPath: z.string().min(1).optional(),
      tlsClientKeyPath: z.string().min(1).optional(),
      /** API key authentication (Temporal Cloud); implies TLS. */
      apiKey: z.string().min(1).optional(),
    })
    .refine((t) => (t.tlsClientCertPath === undefined) === (t.tlsClientKeyPath === undefined), {
      message:
        'tlsClientCertPath and tlsClientKeyPath go together (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH)',
      path: ['tlsClientKeyPath'],
    })
    .prefault({}),
  rocketmq: z
    .object({
      /** The proxy's gRPC endpoint, used by rocketmq-client-nodejs. */
      endpoints: z.string().default('127.0.0.1:8081'),
      namesrv: z.string().default('127.0.0.1:9876'),
      /** Broker remoting address, used to create topics. */
      brokerAddr: z.string().default('127.0.0.1:10911'),
      /** ACL credentials of a managed RocketMQ (the proxy checks them); none for the local stack. */
      accessKey: z.string().min(1).optional(),
      secretKey: z.string().min(1).optional(),
      securityToken: z.string().min(1).optional(),
      /** TLS to the proxy's gRPC endpoint. */
      tls: flag.default(false),
    })
    .refine((r) => (r.accessKey === undefined) === (r.secretKey === undefined), {
      message: 'accessKey and secretKey go together (ROCKETMQ_ACCESS_KEY, ROCKETMQ_SECRET_KEY)',
      path: ['secretKey'],
    })
    .prefault({}),
  /**
   * Encryption of payloads in Temporal (AES-256-GCM), off without keys. `keys` is `id:base64key,...`
   * (32-byte keys); new payloads are encrypted with `encryptWith` (default: the last key), every
   * listed key still decrypts, so a rotation adds a key and moves `encryptWith` to it.
   */
  codec: z
    .object({
      keys: z.string().default(''),
      encryptWith: z.string().min(1).optional(),
    })
    .prefault({}),
};
const sdkConfigSchema = z.object(sdkConfigShape);
export type SdkConfig = z.infer<typeof sdkConfigSchema>;

/** The SDK settings' environment variables (TEMPORAL_*, ROCKETMQ_*, RMSG_TASK_QUEUE, RMSG_CODEC_*). */
export function sdkConfigFromEnv(env: NodeJS.ProcessEnv) {
  return {
    temporal: {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.RMSG_TASK_QUEUE,
      uiUrl: env.TEMPORAL_UI_URL,
      // The names Temporal's own CLI and SDK environment configuration use.
      tls: env.TEMPORAL_TLS,
      tlsServerCaCertPath: env.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
      tlsServerName: env.TEMPORAL_TLS_SERVER_NAME,
      tlsClientCertPath: env.TEMPORAL_TLS_CLIENT_CERT_PATH,
      tlsClientKeyPath: env.TEMPORAL_TLS_CLIENT_KEY_PATH,
      apiKey: env.TEMPORAL_API_KEY,
    },
    rocketmq: {
      endpoints: env.ROCKETMQ_ENDPOINTS,
      namesrv: env.ROCKETMQ_NAMESRV,
      brokerAddr: env.ROCKETMQ_BROKER_ADDR,
      accessKey: env.ROCKETMQ_ACCESS_KEY,
      secretKey: env.ROCKETMQ_SECRET_KEY,
      securityToken: env.ROCKETMQ_SECURITY_TOKEN,
      tls: env.ROCKETMQ_TLS,
    },
    codec: { keys: env.RMSG_CODEC_KEYS, encryptWith: env.RMSG_CODEC_ENCRYPT_WITH },
  };
}

/** Reads the SDK settings from the environment, and only those. */
export function loadSdkConfig(env: NodeJS.ProcessEnv = process.env): SdkConfig {
  return parseConfig(sdkConfigSchema, sdkConfigFromEnv(env));
}

/** How much the logger (src/logger.ts) writes; RMSG_LOG_LEVEL, for the service and the SDKs alike. */
const logLevelSchema = z.object({
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export function loadLogLevel(env: NodeJS.ProcessEnv = process.env): z.infer<typeof logLevelSchema>['logLevel'] {
  return parseConfig(logLevelSchema, { logLevel: env.RMSG_LOG_LEVEL }).logLevel;
}
