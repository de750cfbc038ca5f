import { getEventListeners } from 'node:events';
import type { Client } from '@temporalio/client';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { abortableSleep, withScopedSignal } from '../../src/deadline.js';
import type { Logger } from '../../src/logger.js';
import { registerForStart } from '../../src/temporal/registration.js';

const abortListeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

afterEach(() => {
  vi.useRealTimers();
});

describe('abort listeners do not pile up on long-lived signals', () => {
  it('abortableSleep takes its listener off once it has slept, and still rejects on abort', async () => {
    const stop = new AbortController();
    for (let i = 0; i < 20; i++) await abortableSleep(1, stop.signal);
    expect(abortListeners(stop.signal)).toBe(0);

    const sleeping = abortableSleep(60_000, stop.signal);
    stop.abort(new Error('stopping'));
    await expect(sleeping).rejects.toThrow('stopping');
  });

  it('withScopedSignal: what is added to the scope goes with it; the parent aborts the scope while it runs', async () => {
    const parent = new AbortController();
    const scopes: AbortSignal[] = [];
    for (let i = 0; i < 20; i++)
      await withScopedSignal(parent.signal, async (signal) => {
        signal.addEventListener('abort', () => undefined); // as the Temporal client does, never removed
        scopes.push(signal);
      });
    expect(abortListeners(parent.signal)).toBe(0);
    expect(scopes.every((s) => abortListeners(s) === 1)).toBe(true);

    const running = withScopedSignal(
      parent.signal,
      (signal) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    );
    parent.abort(new Error('cancelled'));
    await expect(running).rejects.toThrow('cancelled');
    await expect(withScopedSignal(parent.signal, async (signal) => signal.aborted)).resolves.toBe(true);
  });

  it('a registration retried through a long outage leaves at most one listener per attempt on any signal', async () => {
    vi.useFakeTimers();
    const seen = new Set<AbortSignal>();
    let attempts = 0;
    // The Temporal client's behaviour: each call under withAbortSignal adds a listener it never removes.
    const client = {
      connection: {
        withAbortSignal: async <T>(signal: AbortSignal, fn: () => Promise<T>) => {
          seen.add(signal);
          signal.addEventListener('abort', () => undefined);
          return fn();
        },
      },
      workflow: {
        execute: async () => {
          attempts += 1;
          throw new Error('14 UNAVAILABLE: the service is down');
        },
      },
    } as unknown as Client;
    const log = pino({ level: 'silent' }) as unknown as Logger;
    const starting = registerForStart({
      client,
      serviceTaskQueue: 'rmsg-service',
      registration: { kind: 'producer', group: 'orders' },
      timeoutMs: 1000,
      log,
    });
    await vi.advanceTimersByTimeAsync(1000);
    const registration = await starting;
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(attempts).toBeGreaterThan(20);
    expect(Math.max(...[...seen].map(abortListeners))).toBeLessThanOrEqual(1);
    const cancelling = registration.cancel();
    await vi.advanceTimersByTimeAsync(10_000);
    await cancelling;
    await expect(registration.done).rejects.toBeDefined();
  });
});
