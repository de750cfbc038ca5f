import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { createPrisma } from '../../src/db/prisma.js';
import { databaseSsl } from '../../src/db/tls.js';
import { rocketmqClientOptions } from '../../src/rocketmq/client-options.js';
import { createRocketmqPublisher } from '../../src/rocketmq/publisher.js';
import { temporalConnectionOptions } from '../../src/temporal/connection.js';
import { freshTopic, testConfig, testLogger } from '../helpers/stack.js';

const dir = mkdtempSync(join(tmpdir(), 'rmsg-tls-'));
const pem = (name: string) => {
  const path = join(dir, name);
  writeFileSync(path, `-----BEGIN ${name}-----\n`);
  return path;
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('connection settings for managed services', () => {
  it('the local defaults use no TLS and no credentials', () => {
    const config = loadConfig({});
    expect(temporalConnectionOptions(config.temporal, {})).toEqual({ address: '127.0.0.1:7233' });
    expect(rocketmqClientOptions(config.rocketmq)).toEqual({
      endpoints: '127.0.0.1:8081',
      namespace: '',
      sslEnabled: false,
    });
    expect(databaseSsl(config.databaseTls)).toBeUndefined();
  });

  it('Temporal: TLS with a CA, a server name, mTLS and an API key come from the TEMPORAL_* variables', () => {
    const env = {
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pem('CA'),
      TEMPORAL_TLS_SERVER_NAME: 'ns.acct.tmprl.cloud',
      TEMPORAL_TLS_CLIENT_CERT_PATH: pem('CERT'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: pem('KEY'),
      TEMPORAL_API_KEY: 'key-123',
    };
    const options = temporalConnectionOptions(loadConfig(env).temporal, env);
    expect(options.address).toBe('ns.acct.tmprl.cloud:7233');
    expect(options.apiKey).toBe('key-123');
    expect(options.tls?.serverNameOverride).toBe('ns.acct.tmprl.cloud');
    expect(options.tls?.serverRootCACertificate?.toString()).toContain('BEGIN CA');
    expect(options.tls?.clientCertPair?.crt.toString()).toContain('BEGIN CERT');
    expect(options.tls?.clientCertPair?.key.toString()).toContain('BEGIN KEY');
    // An API key alone turns TLS on (system CAs).
    expect(temporalConnectionOptions({ address: 'a:7233' }, { TEMPORAL_API_KEY: 'k' }).tls).toEqual({});
  });

  it('bad settings are refused with the setting and the rule named', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_CLIENT_CERT_PATH: '/x.pem' })).toThrow(
      /temporal\.tlsClientKeyPath: .*go together/,
    );
    expect(() => loadConfig({ ROCKETMQ_ACCESS_KEY: 'ak' })).toThrow(/rocketmq\.secretKey: .*go together/);
    expect(() => loadConfig({ TEMPORAL_TLS: 'yes please' })).toThrow(/temporal\.tls:/);
    expect(() => loadConfig({ RMSG_DATABASE_TLS_REJECT_UNAUTHORIZED: 'nope' })).toThrow(
      /databaseTls\.rejectUnauthorized:/,
    );
    expect(() => loadConfig({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/tracing\.exporter:/);
    expect(() =>
      temporalConnectionOptions({ address: 'a:7233' }, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'missing.pem') }),
    ).toThrow(/temporal\.tlsServerCaCertPath: cannot read/);
  });

  it('RocketMQ: ACL credentials and TLS reach the client', () => {
    const r = loadConfig({ ROCKETMQ_ACCESS_KEY: 'ak', ROCKETMQ_SECRET_KEY: 'sk', ROCKETMQ_TLS: 'true' }).rocketmq;
    expect(rocketmqClientOptions(r)).toMatchObject({
      sslEnabled: true,
      sessionCredentials: { accessKey: 'ak', accessSecret: 'sk' },
    });
  });

  it('MySQL: TLS options with a CA file', () => {
    const tls = loadConfig({ RMSG_DATABASE_TLS_CA_PATH: pem('DBCA') }).databaseTls;
    const ssl = databaseSsl(tls);
    expect(ssl?.rejectUnauthorized).toBe(true);
    expect(ssl?.ca?.toString()).toContain('BEGIN DBCA');
  });

  // The local stack speaks no TLS (RocketMQ's proxy only with a self-signed certificate): with TLS
  // asked for, every connection must fail rather than quietly fall back to plain text or an
  // unverified server. That proves the settings reach the real drivers.
  it('with TLS on, the real Temporal, MySQL and RocketMQ connections refuse the local servers', async () => {
    const tls = { enabled: true, rejectUnauthorized: true };
    const url = new URL(testConfig.databaseUrl);
    url.searchParams.set('acquireTimeout', '2000');
    const plain = createPrisma(url.toString());
    const secure = createPrisma(url.toString(), { tls });
    const topic = await freshTopic('tls');
    const publisher = createRocketmqPublisher({ ...testConfig.rocketmq, tls: true, log: testLogger });
    try {
      await expect(plain.$queryRawUnsafe('SELECT 1')).resolves.toBeDefined();
      await Promise.all([
        expect(
          Connection.connect({
            ...temporalConnectionOptions({ ...testConfig.temporal, tls: true }),
            connectTimeout: '2s',
          }),
        ).rejects.toThrow(/Failed to connect/),
        expect(secure.$queryRawUnsafe('SELECT 1')).rejects.toThrow(),
        expect(applyMigrations(testConfig.databaseUrl, { tls })).rejects.toThrow(/does not support secure connection/),
        expect(publisher.publish({ topic, keys: ['k'], body: Buffer.from('x'), properties: {} })).rejects.toThrow(
          /self-signed certificate/,
        ),
      ]);
    } finally {
      await Promise.all([plain.$disconnect(), secure.$disconnect(), publisher.close()]);
    }
  });
});
