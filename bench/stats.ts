/** Latency summaries for the benchmark. */
export interface Summary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
  const mean = sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length);
  return {
    count: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted.at(-1) ?? 0,
    mean: Math.round(mean * 10) / 10,
  };
}

/** Messages per second over the middle of a run: completions after the first 10% and up to the last 10%. */
export function sustainedRate(completionTimes: number[]): number {
  const t = [...completionTimes].sort((a, b) => a - b);
  if (t.length < 10) return t.length / Math.max(0.001, ((t.at(-1) ?? 0) - (t[0] ?? 0)) / 1000);
  const from = Math.floor(t.length * 0.1);
  const to = Math.floor(t.length * 0.9);
  const seconds = ((t[to] ?? 0) - (t[from] ?? 0)) / 1000;
  return seconds > 0 ? (to - from) / seconds : 0;
}
