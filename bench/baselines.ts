import { FilterExpression, type MessageView, Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import type { Config } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import { rocketmqClientLogger } from '../src/rocketmq/client-logger.js';
import { ensureTopic } from '../src/rocketmq/topics.js';
import { runWithConcurrency } from './concurrency.js';
import { ProcessSampler, type ProcessUsage } from './process-stats.js';
import { type Summary, summarize, sustainedRate } from './stats.js';

export interface BaselineResult {
  name: string;
  messages: number;
  throughput: number;
  /** send (or commit) returned -> received by a consumer, per subscriber. */
  sendToReceiveMs: Summary;
  /** CPU and memory of the measured processes (the bench itself, the RocketMQ proxy) during the run. */
  processes: ProcessUsage[];
}

const COMMIT = 1; // apache.rocketmq.v2.TransactionResolution.COMMIT

/**
 * Plain RocketMQ with the same payload, subscribers and concurrency: send -> receive -> ack, or a
 * transactional message (begin, send half message, commit) -> receive -> ack.
 */
export async function runBaseline(opts: {
  kind: 'raw' | 'transactional';
  config: Config;
  log: Logger;
  runId: string;
  messages: number;
  subscribers: number;
  concurrency: number;
  /** Messages per second (0: as fast as the concurrency allows), as in the main run. */
  rate: number;
  payload: Buffer;
  /** Processes whose CPU is measured, as in the main run. */
  measured: { name: string; pid: number }[];
}): Promise<BaselineResult> {
  const topic = `bench-${opts.kind}-${opts.runId}`;
  await ensureTopic(opts.config.rocketmq, topic, opts.kind === 'raw' ? 'NORMAL' : 'TRANSACTION');
  const common = { endpoints: opts.config.rocketmq.endpoints, namespace: '', logger: rocketmqClientLogger(opts.log) };
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const completions: number[] = [];
  const received = new Map<string, number>();
  const consumers = await Promise.all(
    Array.from({ length: opts.subscribers }, async (_, i) => {
      const c = new SimpleConsumer({
        ...common,
        consumerGroup: `${topic}-g${i}`,
        subscriptions: new Map([[topic, FilterExpression.SUB_ALL]]),
        awaitDuration: 1000,
      });
      await c.startup();
      return c;
    }),
  );
  let running = true;
  const onMessage = (m: MessageView) => {
    const key = m.keys[0] ?? '';
    const now = Date.now();
    const sent = sentAt.get(key);
    if (sent !== undefined) latencies.push(now - sent);
    const n = (received.get(key) ?? 0) + 1;
    received.set(key, n);
    if (n === opts.subscribers) completions.push(now);
  };
  const loops = consumers.map(async (c) => {
    while (running) {
      try {
        const batch = await c.receive(32, 15_000);
        for (const m of batch) onMessage(m);
        await Promise.all(batch.map((m) => c.ack(m)));
      } catch {
        // empty long poll
      }
    }
  });
  const producer = new Producer({
    ...common,
    topic,
    checker: { check: async () => COMMIT as never },
  });
  await producer.startup();
  const sampler = new ProcessSampler(opts.measured);
  sampler.begin();
  await runWithConcurrency(
    opts.messages,
    opts.concurrency,
    async (i) => {
      const key = `${topic}-${i}`;
      const message = { topic, keys: [key], tag: 'bench', body: opts.payload };
      if (opts.kind === 'raw') {
        await producer.send(message);
      } else {
        const tx = producer.beginTransaction();
        await producer.send(message, tx);
        await tx.commit();
      }
      sentAt.set(key, Date.now());
    },
    opts.rate,
  );
  const deadline = Date.now() + 60_000;
  while (completions.length < opts.messages && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const processes = sampler.end();
  running = false;
  await Promise.all(loops);
  await producer.shutdown();
  await Promise.all(consumers.map((c) => c.shutdown()));
  return {
    name: opts.kind === 'raw' ? 'RocketMQ send->receive' : 'RocketMQ transactional',
    messages: completions.length,
    throughput: Math.round(sustainedRate(completions) * 10) / 10,
    sendToReceiveMs: summarize(latencies),
    processes,
  };
}
