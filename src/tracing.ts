/**
 * OpenTelemetry tracing across the message's whole path: the producer's span -> the workflow
 * (Temporal's interceptors for clients, workflows and activities) -> the published RocketMQ message
 * (W3C `traceparent` in its properties) -> the consumer's handler span -> its CONSUMED ack.
 *
 * Off by default. `OTEL_TRACES_EXPORTER=otlp` (or `console`) turns it on in the service's processes;
 * the exporter then reads the standard OTEL_EXPORTER_OTLP_* and OTEL_BSP_* variables, and the
 * resource OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES. Applications using the SDKs register their
 * own OpenTelemetry provider; the SDKs only use the API, which does nothing without one.
 */
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResourcesSync, envDetectorSync, Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  type OpenTelemetrySinks,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { Config } from './config.js';

const TRACER_NAME = 'reliable-message';

let active: { provider: BasicTracerProvider; processor: SpanProcessor; resource: Resource } | undefined;

/**
 * Registers the process's tracer provider when tracing is configured (once per process). Tests pass
 * their own span processor (an in-memory exporter). Returns a shutdown that flushes the spans.
 */
export function startTracing(
  tracing: Config['tracing'],
  processor: SpanProcessor | undefined = exporterProcessor(tracing.exporter),
): () => Promise<void> {
  if (active || !processor) return async () => undefined;
  const resource = new Resource({ 'service.name': tracing.serviceName }).merge(
    detectResourcesSync({ detectors: [envDetectorSync] }),
  );
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  provider.register({
    contextManager: new AsyncLocalStorageContextManager(),
    propagator: new W3CTraceContextPropagator(),
  });
  active = { provider, processor, resource };
  return async () => {
    await provider.shutdown();
  };
}

function exporterProcessor(exporter: Config['tracing']['exporter']): SpanProcessor | undefined {
  if (exporter === 'otlp') return new BatchSpanProcessor(new OTLPTraceExporter());
  if (exporter === 'console') return new BatchSpanProcessor(new ConsoleSpanExporter());
  return undefined;
}

/**
 * Whether this process started tracing. Workers install their interceptors only then: measured with the
 * bench (1000 messages), the workflow and activity interceptors cost the worker 12 s of CPU and 275 MB of
 * peak RSS even while their spans were dropped.
 */
export function tracingActive(): boolean {
  return active !== undefined;
}

/**
 * Client interceptors for every Temporal client we create: start, signal and update carry the trace. Always
 * on (cheap), so an application with its own OpenTelemetry provider gets its trace into the workflow.
 */
export function tracingClientInterceptors() {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/** Activity interceptors for a worker: each activity runs in a span continuing the workflow's trace. */
export function tracingActivityInterceptors(): WorkerInterceptors['activity'] {
  if (!active) return [];
  return [
    (ctx) => ({
      inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
      outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
    }),
  ];
}

/**
 * The sink the workflow interceptors (in every bundle) export their spans to: the process's span
 * processor while tracing is on, otherwise one that drops them.
 */
export function tracingWorkflowSinks(): InjectedSinks<OpenTelemetrySinks> {
  if (active) return { exporter: makeWorkflowExporter(active.processor, active.resource) };
  return { exporter: { export: { fn: () => undefined, callDuringReplay: false } } };
}

/** Adds the active trace context (W3C `traceparent`, `tracestate`) to message properties. */
export function injectTraceContext(properties: Record<string, string>, ctx: Context = context.active()): void {
  propagation.inject(ctx, properties);
}

/** The trace context a message's properties carry, if any. */
export function extractTraceContext(properties: Map<string, string>): Context {
  return propagation.extract(ROOT_CONTEXT, properties, {
    get: (carrier, key) => carrier.get(key),
    keys: (carrier) => [...carrier.keys()],
  });
}

/**
 * Runs `fn` in a new span (child of `parent`), recording a thrown error on it. A no-op span when no
 * tracer provider is registered.
 */
export async function inSpan<T>(
  name: string,
  opts: { kind: SpanKind; parent?: Context; attributes?: Record<string, string | number> },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = opts.parent ?? context.active();
  const span = trace.getTracer(TRACER_NAME).startSpan(name, { kind: opts.kind, attributes: opts.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}

export { SpanKind };
