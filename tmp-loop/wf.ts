export async function promises(n: number): Promise<number> {
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await Promise.resolve(i);
  return Date.now() - t0;
}
async function inner(i: number): Promise<number> {
  return i;
}
export async function asyncCalls(n: number): Promise<number> {
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await inner(i);
  return Date.now() - t0;
}
