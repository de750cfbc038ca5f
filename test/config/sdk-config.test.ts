import { afterEach, describe, expect, it, vi } from 'vitest';
import { ReliableMessageClient } from '../../src/client/index.js';
import { sdkEndpoints, temporalConnectionOptions } from '../../src/temporal/connection.js';

/** Settings only the service reads, each broken: an SDK in the same process must not care. */
const brokenServiceEnv = {
  RMSG_DATABASE_URL: 'not a url',
  RMSG_DATABASE_TLS_REJECT_UNAUTHORIZED: 'nope',
  RMSG_API_PORT: 'eighty',
  RMSG_API_WRITE_TOKEN: 'short',
  RMSG_ARCHIVE_BATCH: '0',
  RMSG_MAX_SENDS: '0',
  OTEL_TRACES_EXPORTER: 'zipkin',
};

describe('the SDKs read only their own settings', () => {
  it('a broken service setting does not stop an SDK from finding Temporal and RocketMQ', () => {
    const env = { ...brokenServiceEnv, TEMPORAL_ADDRESS: 'temporal:7233', ROCKETMQ_NAMESRV: 'namesrv:9876' };
    expect(sdkEndpoints({}, env)).toMatchObject({
      address: 'temporal:7233',
      namespace: 'default',
      serviceTaskQueue: 'reliable-message',
      rocketmq: { namesrv: 'namesrv:9876', endpoints: '127.0.0.1:8081' },
    });
    expect(temporalConnectionOptions({ address: 'a:7233' }, env)).toEqual({ address: 'a:7233' });
  });

  it('a broken SDK setting is still refused, naming the setting', () => {
    expect(() => sdkEndpoints({}, { ...brokenServiceEnv, TEMPORAL_TLS: 'yes please' })).toThrow(
      /^invalid configuration: temporal\.tls:/,
    );
    expect(() => sdkEndpoints({}, { ROCKETMQ_ACCESS_KEY: 'ak' })).toThrow(/rocketmq\.secretKey: .*go together/);
  });

  it('the producer SDK connects to the local Temporal with broken service settings in its environment', async () => {
    for (const [name, value] of Object.entries(brokenServiceEnv)) vi.stubEnv(name, value);
    try {
      const client = await ReliableMessageClient.connect({ producerGroup: 'sdkcfg-broken-env' });
      await client.close();
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('the log level', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('comes from RMSG_LOG_LEVEL through the configuration rule', async () => {
    vi.stubEnv('RMSG_LOG_LEVEL', 'warn');
    vi.resetModules();
    expect((await import('../../src/logger.js')).logger.level).toBe('warn');
  });

  it('a bad one is refused like any other setting, naming it', async () => {
    vi.stubEnv('RMSG_LOG_LEVEL', 'loud');
    vi.resetModules();
    await expect(import('../../src/logger.js')).rejects.toThrow(/^invalid configuration: logLevel: /);
  });
});
