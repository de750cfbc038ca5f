/**
 * `npm run bench:growth`: how the figures grow with subscribers, payload size and messages in flight.
 * Each row is one `bench/run.ts` run (without baselines) in its own process; prints the table and writes
 * `bench/results/<time>-growth.json` with every run's result file.
 *
 *   npm run bench:growth -- --messages 1000 --in-flight 100,2000,10000
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000' },
    subscribers: { type: 'string', default: '1,3,10' },
    'payload-bytes': { type: 'string', default: '256,65536' },
    /** Messages sent at once (all in flight until the pipeline catches up). */
    'in-flight': { type: 'string', default: '100,2000' },
  },
});
const list = (name: keyof typeof args) => String(args[name]).split(',').map(Number);
const messages = Number(args.messages);

interface Row {
  varied: string;
  messages: number;
  subscribers: number;
  payloadBytes: number;
}
const base = { messages, subscribers: 1, payloadBytes: 256 };
const rows: Row[] = [
  ...list('subscribers').map((subscribers) => ({ ...base, varied: `subscribers ${subscribers}`, subscribers })),
  ...list('payload-bytes')
    .filter((b) => b !== base.payloadBytes)
    .map((payloadBytes) => ({ ...base, varied: `payload ${payloadBytes} B`, payloadBytes })),
  ...list('in-flight').map((n) => ({ ...base, varied: `in flight ${n}`, messages: n })),
];

const results: { row: Row; file: string; result: BenchResult }[] = [];
for (const row of rows) {
  console.error(`growth: ${row.varied} (${row.messages} messages)...`);
  const file = await runBench(row);
  results.push({ row, file, result: JSON.parse(readFileSync(file, 'utf8')) as BenchResult });
}

console.log('\ngrowth (send, concurrency 64, one worker)');
console.log(
  `  ${'run'.padEnd(20)}${['msg/s', 'p99 ms', 'events', 'actions', 'worker ms', 'outside ms', 'temporal ms', 'worker MB'].map((h) => h.padStart(12)).join('')}`,
);
for (const { row, result: r } of results) {
  const cells = [
    r.throughput,
    r.latencyMs.confirmToHandler.p99,
    r.temporal.historyEventsPerMessage,
    r.temporal.actionsPerMessage,
    r.cpuMsPerMessage.worker,
    r.cpuMsPerMessage.outsideTemporal,
    r.cpuMsPerMessage.temporal,
    r.processes.find((p) => p.name === 'worker')?.peakRssMb,
  ];
  console.log(`  ${row.varied.padEnd(20)}${cells.map((c) => String(c ?? '-').padStart(12)).join('')}`);
}
const out = new URL(`./results/${new Date().toISOString().replace(/[:.]/g, '-')}-growth.json`, import.meta.url);
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwritten ${out.pathname}`);

interface BenchResult {
  throughput: number;
  latencyMs: { confirmToHandler: { p99: number } };
  temporal: { historyEventsPerMessage: number; actionsPerMessage: number };
  cpuMsPerMessage: Record<string, number>;
  processes: { name: string; peakRssMb: number }[];
}

function runBench(row: Row): Promise<string> {
  const argv = [
    '--import',
    'tsx',
    new URL('./run.ts', import.meta.url).pathname,
    '--no-baselines',
    '--mode',
    'send',
    '--messages',
    String(row.messages),
    '--subscribers',
    String(row.subscribers),
    '--payload-bytes',
    String(row.payloadBytes),
  ];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, argv, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      const file = /written (\S+\.json)/.exec(stdout)?.[1];
      if (err || !file) reject(err ?? new Error(`no result file from the run for ${row.varied}`));
      else resolve(file);
    });
  });
}
