/**
 * Runs task(0..count-1) with at most `concurrency` at once; with `ratePerSecond`, task i starts no
 * earlier than i / rate seconds after the first (an open-loop rate, capped by the concurrency).
 */
export async function runWithConcurrency(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
  ratePerSecond = 0,
): Promise<void> {
  const start = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      if (ratePerSecond > 0) {
        const due = start + (i * 1000) / ratePerSecond;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
