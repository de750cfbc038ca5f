/**
 * `npm run chaos`: the order/stock scenario at volume with real processes SIGKILLed and restarted, on a
 * second, isolated stack instance (never the shared one). Prints a verdict table, writes JSON to
 * bench/results/, exits non-zero on any lost, duplicate or stuck message.
 *
 *   npm run chaos -- --fault mysql --outage 10m --rate 10 --orders 300
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { IsolatedStack } from './isolated-stack.js';
import { FAULTS, type Fault, runChaos } from './scenario.js';
import { formatVerdict } from './verdict.js';

const { values: args } = parseArgs({
  options: {
    fault: { type: 'string', default: 'all' },
    orders: { type: 'string', default: '300' },
    rate: { type: 'string', default: '10' },
    outage: { type: 'string', default: '10s' },
    'crash-pct': { type: 'string', default: '10' },
    'rollback-pct': { type: 'string', default: '10' },
    'fail-once-pct': { type: 'string', default: '20' },
    'crash-batch': { type: 'string', default: '10' },
    'fault-at-pct': { type: 'string', default: '30' },
    'fault-gap': { type: 'string', default: '5s' },
    settle: { type: 'string', default: '5m' },
    'port-offset': { type: 'string', default: process.env.RMSG_STACK_PORT_OFFSET ?? '20000' },
    state: { type: 'string', default: process.env.RMSG_STACK_STATE ?? '/tmp/rmsg-chaos-state' },
    /** Stop the isolated stack at the end (it is kept by default: the next run starts faster). */
    down: { type: 'boolean', default: false },
  },
});

// Exiting kills the run's child processes (see children.ts); the isolated stack stays up.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
const fault = args.fault as Fault;
if (!FAULTS.includes(fault)) fail(`--fault must be one of ${FAULTS.join(', ')}, got '${args.fault}'`);
const stack = new IsolatedStack(integer('port-offset', 1), args.state);
console.error(`isolated stack: offset ${stack.portOffset}, state ${stack.stateDir} (starting if needed)...`);
await stack.up();
const verdict = await runChaos({
  stack,
  fault,
  orders: integer('orders', 1),
  rate: positiveNumber('rate'),
  outageMs: duration('outage'),
  crashPct: percent('crash-pct'),
  rollbackPct: percent('rollback-pct'),
  failOncePct: percent('fail-once-pct'),
  crashBatch: integer('crash-batch', 1),
  faultAtPct: percent('fault-at-pct'),
  faultGapMs: duration('fault-gap'),
  settleTimeoutMs: duration('settle'),
  logDir: '/tmp/rmsg-chaos-logs',
  print: (line) => console.error(line),
});
console.log(formatVerdict(verdict));
const dir = new URL('../results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const file = new URL(`./${new Date().toISOString().replace(/[:.]/g, '-')}-chaos-${fault}.json`, dir);
writeFileSync(file, `${JSON.stringify(verdict, null, 2)}\n`);
console.log(`written ${file.pathname}`);
if (args.down) await stack.down();
process.exit(verdict.ok ? 0 : 1);

function fail(message: string): never {
  console.error(`chaos: ${message}`);
  process.exit(2);
}

function integer(name: keyof typeof args, min: number): number {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got '${args[name]}'`);
  return n;
}

function positiveNumber(name: keyof typeof args): number {
  const n = Number(args[name]);
  if (!(n > 0)) fail(`--${name} must be a positive number, got '${args[name]}'`);
  return n;
}

function percent(name: keyof typeof args): number {
  const n = Number(args[name]);
  if (!(n >= 0 && n <= 100)) fail(`--${name} must be a percentage 0-100, got '${args[name]}'`);
  return n;
}

function duration(name: keyof typeof args): number {
  const ms = parseDuration(String(args[name]));
  if (ms === undefined) fail(`--${name} must be a duration like 45s, 10m or 500ms, got '${args[name]}'`);
  return ms;
}

/** 45s, 10m, 1h, 500ms; a bare number is milliseconds. */
function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}
