import { describe, expect, it } from 'vitest';
import { checkBackAnswerOf } from '../../activities/check-back.js';
import { checkBackUrlProblem, redactedUrl } from '../../src/check-back-url.js';

describe('HTTP check-back answers: one strict grammar', () => {
  it('takes exactly an answer word, or a JSON object whose only key is status', () => {
    expect(checkBackAnswerOf('COMMIT', 'producer')).toBe('COMMIT');
    expect(checkBackAnswerOf('{"status":"ROLLBACK"}', 'producer')).toBe('ROLLBACK');
    expect(checkBackAnswerOf('NOT_CONSUMED', 'consumer')).toBe('NOT_CONSUMED');
    expect(checkBackAnswerOf('{ "status" : "CONSUMED" }', 'consumer')).toBe('CONSUMED');
  });

  it('anything else is malformed, never a yes', () => {
    for (const text of [
      'COMMIT ',
      ' COMMIT',
      'COMMIT\n',
      'commit',
      '"COMMIT"',
      '{"status":"COMMIT","x":1}',
      '{"status":["COMMIT"]}',
      '["COMMIT"]',
      '{"Status":"COMMIT"}',
      // JSON.parse keeps the last of two members of one name; a parser that keeps the first reads ROLLBACK.
      '{"status":"ROLLBACK","status":"COMMIT"}',
      '{"status":"COMMIT","status":"COMMIT"}',
      `COMMIT${' '.repeat(10_000)}`,
      'CONSUMED', // a consumer's word from a producer's check-back
      '{}',
      'null',
      '',
    ]) {
      expect(checkBackAnswerOf(text, 'producer'), JSON.stringify(text.slice(0, 30))).toMatch(/^malformed: /);
    }
    expect(checkBackAnswerOf('COMMIT', 'consumer')).toMatch(/^malformed: /);
    expect(checkBackAnswerOf('{"status":"NOT_CONSUMED","status":"CONSUMED"}', 'consumer')).toMatch(/^malformed: /);
    expect(checkBackAnswerOf('x'.repeat(10_000), 'producer').length).toBeLessThan(150);
  });
});

describe('check-back URL rules', () => {
  const loopback = ['localhost', '127.0.0.1', '[::1]'];
  it('refuses credentials, link-local and metadata addresses, and hosts off the allow-list', () => {
    expect(checkBackUrlProblem('http://127.0.0.1:9000/cb', loopback)).toBeUndefined();
    expect(checkBackUrlProblem('http://[::1]:9000/cb', loopback)).toBeUndefined();
    expect(checkBackUrlProblem('http://user:pw@127.0.0.1/cb', loopback)).toMatch(/credentials/);
    expect(checkBackUrlProblem('http://user@127.0.0.1/cb', loopback)).toMatch(/credentials/);
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://0xA9FEA9FE/', // the same address, spelled as one hex number
      'http://[fe80::1]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fd00:ec2::254]/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://metadata.google.internal./computeMetadata/v1/', // the same name, fully qualified
      'http://[64:ff9b::a9fe:a9fe]/', // 169.254.169.254 through a NAT64 gateway
      'http://100.100.100.200/',
    ]) {
      expect(checkBackUrlProblem(url, ['*']), url).toMatch(/link-local or cloud metadata/);
    }
    expect(checkBackUrlProblem('https://orders.example.com/cb', loopback)).toMatch(/not an allowed check-back host/);
    expect(checkBackUrlProblem('https://orders.example.com/cb', ['*.example.com'])).toBeUndefined();
    expect(checkBackUrlProblem('https://example.com.evil.io/cb', ['*.example.com'])).toMatch(/not an allowed/);
    expect(checkBackUrlProblem('https://anything.io/cb', ['*'])).toBeUndefined();
    expect(checkBackUrlProblem('ftp://127.0.0.1/cb', loopback)).toBe('must be an http(s) URL');
  });

  it('a redacted URL keeps the scheme and host only', () => {
    expect(redactedUrl('https://orders.example.com:8443/internal/cb?token=x')).toBe(
      'https://orders.example.com:8443/…',
    );
  });
});
