import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { ReliableConsumer } from '../../src/consumer/index.js';
import { startTracing } from '../../src/tracing.js';
import { connectTestClient, eventually, startTestService, type TestService } from '../helpers/service.js';
import { freshTopic, testLogger, uniqueId } from '../helpers/stack.js';

const exporter = new InMemorySpanExporter();
let stopTracing: () => Promise<void>;
let service: TestService;
let client: ReliableMessageClient;
let consumer: ReliableConsumer;
let topic: string;
const handled: string[] = [];

beforeAll(async () => {
  // Before the worker starts: its workflow span sink is bound at creation.
  stopTracing = startTracing({ exporter: 'none', serviceName: 'rmsg-tracing-test' }, new SimpleSpanProcessor(exporter));
  service = await startTestService();
  topic = await freshTopic('traced');
  client = await connectTestClient(service.config);
  consumer = await ReliableConsumer.start({
    group: uniqueId('traced-consumer'),
    topic,
    temporal: service.config.temporal,
    serviceTaskQueue: service.config.temporal.taskQueue,
    log: testLogger,
    handler: async (m) => {
      handled.push(m.key);
    },
  });
});

afterAll(async () => {
  await consumer?.stop();
  await client?.close();
  await service?.stop();
  await stopTracing?.();
});

/** The spans of one trace as an indented tree (name, then children), for the assertion message and the log. */
function tree(spans: ReadableSpan[]): string {
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const s of spans
      .filter((x) => x.parentSpanId === parent)
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1])) {
      lines.push(`${'  '.repeat(depth)}${s.name} [${s.spanContext().spanId}]`);
      walk(s.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join('\n');
}

describe('tracing: one trace from the producer to the consumer', () => {
  it('connects the producer span, the workflow, the publication, the consumer handler and its CONSUMED ack', async () => {
    const key = uniqueId('traced');
    const tracer = trace.getTracer('order-service');
    const traceId = await tracer.startActiveSpan('place order', async (span) => {
      await client.send({ key, topic, body: '{"order":1}' });
      span.end();
      return span.spanContext().traceId;
    });
    await eventually(async () => (await client.get(key)).status === 'FINISHED', 30_000, `${key} FINISHED`);
    expect(handled).toContain(key);
    await service.stop(); // the workflow's spans leave through the sink as its tasks complete

    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const byName = (name: string) => spans.find((s) => s.name === name);
    const parentName = (s: ReadableSpan | undefined) =>
      spans.find((p) => p.spanContext().spanId === s?.parentSpanId)?.name;
    const shown = tree(spans);
    testLogger.info(`trace ${traceId}\n${shown}`);

    const producer = byName('place order');
    const start = byName('StartWorkflow:reliableMessageWorkflow');
    const run = byName('RunWorkflow:reliableMessageWorkflow');
    const publish = byName(`publish ${topic}`);
    const consume = byName(`consume ${topic}`);
    const consumedAck = spans.find(
      (s) => s.name === 'SignalWorkflow:ack' && s.parentSpanId === consume?.spanContext().spanId,
    );
    expect(producer?.parentSpanId, shown).toBeUndefined();
    expect(parentName(start), shown).toBe('place order');
    expect(parentName(run), shown).toBe('StartWorkflow:reliableMessageWorkflow');
    // A send's first publication is made by the first task's one local activity.
    expect(parentName(publish), shown).toBe('RunActivity:openMessage');
    expect(parentName(byName('RunActivity:openMessage')), shown).toBe('StartActivity:openMessage');
    expect(parentName(consume), shown).toBe(`publish ${topic}`);
    expect(consumedAck, shown).toBeDefined();
    // The ack reaches the workflow in the same trace.
    const handledAck = spans.find((s) => s.name === 'HandleSignal:ack');
    expect(handledAck?.parentSpanId, shown).toBe(consumedAck?.spanContext().spanId);
  });
});
