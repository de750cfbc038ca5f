import type { SdkConfig } from '../sdk-config.js';

/**
 * What every rocketmq-client-nodejs client (producer, consumer) needs to reach the proxy: its
 * endpoints, TLS, and the ACL credentials of a managed RocketMQ (none for the local stack).
 */
export function rocketmqClientOptions(r: Pick<SdkConfig['rocketmq'], 'endpoints'> & Partial<SdkConfig['rocketmq']>) {
  return {
    endpoints: r.endpoints,
    namespace: '',
    sslEnabled: r.tls ?? false,
    ...(r.accessKey && r.secretKey
      ? { sessionCredentials: { accessKey: r.accessKey, accessSecret: r.secretKey, securityToken: r.securityToken } }
      : {}),
  };
}
