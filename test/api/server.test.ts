import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startApi } from '../../src/api/start.js';
import { loadConfig } from '../../src/config.js';
import { eventually } from '../helpers/service.js';
import { testLogger } from '../helpers/stack.js';

const TOKEN = 'server-test-write-token-0123';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the API process', () => {
  it('reads RMSG_API_* from the environment and refuses short tokens', () => {
    const config = loadConfig({ RMSG_API_HOST: '0.0.0.0', RMSG_API_PORT: '9000', RMSG_API_READ_TOKEN: 'r'.repeat(16) });
    expect(config.api).toEqual({ host: '0.0.0.0', port: 9000, readToken: 'r'.repeat(16), writeRateLimitPerMinute: 0 });
    expect(loadConfig({}).api).toEqual({ host: '127.0.0.1', port: 8090, writeRateLimitPerMinute: 0 });
    expect(loadConfig({ RMSG_API_WRITE_RATE_LIMIT: '120' }).api.writeRateLimitPerMinute).toBe(120);
    expect(loadConfig({}).checkBack.allowedHosts).toEqual(['localhost', '127.0.0.1', '[::1]']);
    expect(loadConfig({ RMSG_CHECK_BACK_HOSTS: ' Orders.Internal, *.svc ' }).checkBack.allowedHosts).toEqual([
      'orders.internal',
      '*.svc',
    ]);
    expect(() => loadConfig({ RMSG_API_WRITE_TOKEN: 'short' })).toThrow(/api\.writeToken/);
  });

  it('refuses to bind beyond loopback without a token', async () => {
    const config = loadConfig({ RMSG_API_HOST: '0.0.0.0', RMSG_API_PORT: '0' });
    await expect(startApi(config, testLogger)).rejects.toThrow(
      /refusing to serve the API on 0\.0\.0\.0 without a token: set RMSG_API_WRITE_TOKEN/,
    );
  });

  it('listens (port 0), answers real HTTP with auth, and closes idempotently', async () => {
    const config = loadConfig({ RMSG_API_PORT: '0', RMSG_API_WRITE_TOKEN: TOKEN });
    const api = await startApi(config, testLogger);
    try {
      expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${api.url}/v1/stats`)).status).toBe(401);
      const stats = await fetch(`${api.url}/v1/stats`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(stats.status).toBe(200);
      expect(await stats.json()).toHaveProperty('messages.byStatus');
    } finally {
      await api.close();
      await api.close();
    }
    await expect(fetch(`${api.url}/healthz`)).rejects.toThrow();
  });

  it('`rmsg api` serves until SIGTERM, then exits 0', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'api'], {
      cwd: ROOT,
      env: { ...process.env, RMSG_API_PORT: String(port), RMSG_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(
        async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200,
        30_000,
        `rmsg api on ${port}`,
      );
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(stderr).toBe('');
  });
});
