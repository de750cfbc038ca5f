import dns from 'node:dns';
import net, { type LookupFunction } from 'node:net';

/**
 * The rules for an HTTP check-back URL, checked when it is registered (a 400 naming the field) and
 * again at every call, on the addresses the call connects to (DNS may have changed since):
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
forbidden.addSubnet('64:ff9b::a9fe:0', 112, 'ipv6'); // 169.254.0.0/16 through a NAT64 gateway
forbidden.addSubnet('64:ff9b::6464:64c8', 128, 'ipv6'); // 100.100.100.200 likewise

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
  // A fully qualified name (trailing dot) is the same host.
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  const bare = host.replace(/^\[|\]$/g, '');
  if (METADATA_HOSTS.has(host) || forbiddenAddress(bare))
    return `must not name a link-local or cloud metadata address (${host})`;
  if (!allowed(host, allowedHosts))
    return `host ${host} is not an allowed check-back host (RMSG_CHECK_BACK_HOSTS: ${allowedHosts.join(',')})`;
  return undefined;
}

/** Before a call: the URL still follows the rules (its host's addresses are checked by `checkedLookup`). */
export function assertCallableCheckBack(raw: string, allowedHosts: readonly string[]): void {
  const problem = checkBackUrlProblem(raw, allowedHosts);
  if (problem) throw new Error(`check-back URL refused: it ${problem}`);
}

/**
 * The DNS lookup a check-back call connects with: it refuses a host that resolves to a link-local or
 * metadata address. Checking in the lookup the connection uses, not in one of its own before the call,
 * leaves no moment for the host to resolve elsewhere (DNS rebinding).
 */
export const checkedLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const bad = addresses.find((a) => forbiddenAddress(a.address));
    if (bad) {
      const refused = new Error(
        `check-back URL refused: ${hostname} resolves to ${bad.address}, a link-local or metadata address`,
      );
      return callback(refused, '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
    const first = addresses[0] as dns.LookupAddress;
    callback(null, first.address, first.family);
  });
};

/** What a caller without the right to see it gets instead of a check-back URL: scheme and host only. */
export function redactedUrl(raw: string): string {
  try {
    return `${new URL(raw).origin}/…`;
  } catch {
    return '…';
  }
}
