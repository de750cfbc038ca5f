/** Whether `work` settles (either way) before `deadline` (epoch ms); it is not cancelled when it does not. */
export async function settlesBefore(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
    }),
  ]);
  clearTimeout(timer);
  return inTime;
}

/** Sleeps `ms`; rejects with the signal's reason as soon as it aborts. Leaves no listener on the signal. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `fn` with a signal of its own that aborts when `parent` does. Listeners put on it and never
 * taken off go with it, instead of piling up on a long-lived parent for as long as the parent lives.
 */
export async function withScopedSignal<T>(parent: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const scope = new AbortController();
  const forward = () => scope.abort(parent.reason);
  if (parent.aborted) forward();
  else parent.addEventListener('abort', forward, { once: true });
  try {
    return await fn(scope.signal);
  } finally {
    parent.removeEventListener('abort', forward);
  }
}
