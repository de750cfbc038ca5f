import { lookup } from 'node:dns/promises';
import net from 'node:net';

/**
 * The rules for an HTTP check-back URL, checked when it is registered (a 400 naming the field) and
 * again before every call, on the addresses the host resolves to then (DNS may have changed):
 * http(s) only, no credentials, a host on the operator's allow-list, never link-local or a cloud
 * metadata address (they hand out instance credentials to whoever asks).
 */

const METADATA_HOSTS = new Set(['metadata', 'metadata.google.internal', 'metadata.goog']);

const forbidden = new net.BlockList();
forbidden.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, AWS/GCP/Azure metadata 169.254.169.254
forbidden.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
forbidden.addSubnet('0.0.0.0', 8, 'ipv4'); // "this host": reaches local services on some systems
forbidden.addSubnet('fe80::', 10, 'ipv6'); // link-local
forbidden.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6
forbidden.addAddress('::', 'ipv6');

function forbiddenAddress(address: string): boolean {
  const family = net.isIP(address);
  return family !== 0 && forbidden.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** `*` any host; `*.example.com` its subdomains; otherwise the exact host (IPv6 in brackets). */
function allowed(host: string, allowedHosts: readonly string[]): boolean {
  return allowedHosts.some((pattern) =>
    pattern === '*' ? true : pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : host === pattern,
  );
}

/** Why the URL may not be a check-back, or undefined when it may. */
export function checkBackUrlProblem(raw: string, allowedHosts: readonly string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an http(s) URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http(s) URL';
  if (url.username || url.password) return 'must not contain credentials (user:password@); the calls are signed';
  const host = url.hostname.toLowerCase();
  const bare = host.replace(/^\[|\]$/g, '');
  if (METADATA_HOSTS.has(host) || forbiddenAddress(bare))
    return `must not name a link-local or cloud metadata address (${host})`;
  if (!allowed(host, allowedHosts))
    return `host ${host} is not an allowed check-back host (RMSG_CHECK_BACK_HOSTS: ${allowedHosts.join(',')})`;
  return undefined;
}

/** Before a call: the URL still follows the rules, and its host resolves to no forbidden address. */
export async function assertCallableCheckBack(raw: string, allowedHosts: readonly string[]): Promise<void> {
  const problem = checkBackUrlProblem(raw, allowedHosts);
  if (problem) throw new Error(`check-back URL refused: it ${problem}`);
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host)) return;
  const addresses = await lookup(host, { all: true });
  const bad = addresses.find((a) => forbiddenAddress(a.address));
  if (bad)
    throw new Error(`check-back URL refused: ${host} resolves to ${bad.address}, a link-local or metadata address`);
}

/** What a caller without the right to see it gets instead of a check-back URL: scheme and host only. */
export function redactedUrl(raw: string): string {
  try {
    return `${new URL(raw).origin}/…`;
  } catch {
    return '…';
  }
}
