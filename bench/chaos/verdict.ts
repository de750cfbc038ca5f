import type { Verdict } from './scenario.js';

/** The verdict table a chaos run prints. */
export function formatVerdict(v: Verdict): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const faults = v.faults.map((f) => `${f.fault} down ${s(f.downForMs)} (restart ${s(f.restartMs)})`).join(', ');
  const rows: [string, string | number][] = [
    ['fault', `${v.fault}${faults ? `: ${faults}` : ''}`],
    ['orders attempted', v.attempted],
    ['committed', v.committed],
    ['rolled back', v.rolledBack],
    ['crashed before confirm', v.crashed],
    ['refused / failed before commit', v.refused],
    ['outcome never reported (died)', v.unreported],
    ['effects (stock moves)', v.effects],
    ['duplicates', v.duplicates],
    ['phantom effects', v.phantoms],
    ['lost', v.lost],
    ['stuck', v.stuck],
    ['stock mismatches', v.stockMismatches],
    ['projection lag', v.projectionLag],
    ['unexpected child exits', v.unexpectedChildExits],
    ['time to settle', s(v.settleMs)],
    ['whole run', s(v.totalMs)],
    ['longest history', `${v.longestHistory.events} events (${v.longestHistory.key || '-'})`],
    [
      'confirm latency p50/p99/max',
      `${v.confirmLatencyMs.p50} / ${v.confirmLatencyMs.p99} / ${v.confirmLatencyMs.max} ms (n ${v.confirmLatencyMs.n})`,
    ],
    ['verdict', v.ok ? 'PASS' : 'FAIL'],
  ];
  const lines = [`chaos ${v.runId}`, ...rows.map(([k, val]) => `  ${k.padEnd(32)} ${val}`)];
  for (const [reason, n] of Object.entries(v.failures)) lines.push(`  - ${n} x failed before commit: ${reason}`);
  for (const p of v.problems.slice(0, 20)) lines.push(`  ! ${p.key}: ${p.problem}${p.status ? ` (${p.status})` : ''}`);
  if (v.problems.length > 20) lines.push(`  ! ... ${v.problems.length - 20} more in the JSON`);
  return lines.join('\n');
}
