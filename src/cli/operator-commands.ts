import { parseArgs } from 'node:util';
import { workflowIdForKey } from '../../workflows/definitions.js';
import type { Config } from '../config.js';
import { ValidationError } from '../errors.js';
import { parseMessageKey } from '../message-spec.js';
import { ApiCallError, ApiClient } from './api-client.js';
import { table } from './table.js';

/** Exit codes scripts can rely on. */
export const ExitCode = { ok: 0, failed: 1, usage: 2, notFound: 3, conflict: 4, unauthorized: 5, findings: 6 } as const;

export class UsageError extends Error {}

interface Delivery {
  consumerGroup: string;
  status: string;
  sendCount: number;
  receiveCount: number;
  lastError: string | null;
  consumedAt: string | null;
}
interface MessageView {
  key: string;
  topic: string;
  tag: string | null;
  producerGroup: string;
  status: string;
  deadReason: string | null;
  cancelReason: string | null;
  lastError: string | null;
  sendCount: number;
  checkBackCount: number;
  createdAt: string;
  confirmedAt: string | null;
  finishedAt: string | null;
  deliveries: Delivery[];
  body?: string;
  events?: { seq: number; type: string; consumerGroup: string | null; createdAt: string; detail: unknown }[];
  archivedAt?: string | null;
}

interface TokenView {
  id: string;
  role: string;
  group: string | null;
  label: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

type Out = (line: string) => void;

export const OPERATOR_COMMANDS: Record<string, (args: string[], config: Config, out: Out) => Promise<void>> = {
  async list(args, config, out) {
    const { values } = parseArgs({
      args,
      options: {
        status: { type: 'string' },
        topic: { type: 'string' },
        'producer-group': { type: 'string' },
        'consumer-group': { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    const page = await ApiClient.fromConfig(config).get<{ items: MessageView[]; nextCursor: string | null }>(
      '/v1/messages',
      {
        status: values.status,
        topic: values.topic,
        producerGroup: values['producer-group'],
        consumerGroup: values['consumer-group'],
        from: values.from,
        to: values.to,
        limit: values.limit,
        cursor: values.cursor,
      },
    );
    if (values.json) return out(JSON.stringify(page, null, 2));
    out(
      table(
        ['KEY', 'STATUS', 'TOPIC', 'TAG', 'PRODUCER', 'SENDS', 'CONSUMED', 'CREATED'],
        page.items.map((m) => [
          m.key,
          m.deadReason ? `${m.status}(${m.deadReason})` : m.status,
          m.topic,
          m.tag,
          m.producerGroup,
          m.sendCount,
          `${m.deliveries.filter((d) => d.status === 'CONSUMED').length}/${m.deliveries.length}`,
          m.createdAt,
        ]),
      ),
    );
    if (page.nextCursor) out(`\nmore: rmsg list --cursor ${page.nextCursor}`);
  },

  async show(args, config, out) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true });
    const key = onlyKey(positionals);
    const m = await ApiClient.fromConfig(config).get<MessageView>(`/v1/messages/${encodeURIComponent(key)}`);
    if (values.json) return out(JSON.stringify(m, null, 2));
    out(`message   ${m.key}`);
    out(
      `status    ${m.status}${m.deadReason ? ` (${m.deadReason})` : ''}${m.cancelReason ? ` — ${m.cancelReason}` : ''}`,
    );
    out(`topic     ${m.topic}${m.tag ? `  tag ${m.tag}` : ''}`);
    out(`producer  ${m.producerGroup}`);
    out(`sends     ${m.sendCount}   check-backs ${m.checkBackCount}`);
    if (m.lastError) out(`error     ${m.lastError}`);
    out(
      `created   ${m.createdAt}${m.confirmedAt ? `   confirmed ${m.confirmedAt}` : ''}${m.finishedAt ? `   finished ${m.finishedAt}` : ''}`,
    );
    if (m.archivedAt) out(`archived  ${m.archivedAt}`);
    if (m.body !== undefined) out(`body      ${m.body}`);
    const ui = `${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(workflowIdForKey(key))}`;
    out(`temporal  ${ui}`);
    out('\ndeliveries');
    out(
      table(
        ['GROUP', 'STATUS', 'SENT', 'RECEIVED', 'LAST ERROR'],
        m.deliveries.map((d) => [d.consumerGroup, d.status, d.sendCount, d.receiveCount, d.lastError]),
      ),
    );
    out('\nevents');
    out(
      table(
        ['SEQ', 'AT', 'TYPE', 'GROUP', 'DETAIL'],
        (m.events ?? []).map((e) => [
          e.seq,
          e.createdAt,
          e.type,
          e.consumerGroup,
          e.detail ? JSON.stringify(e.detail) : null,
        ]),
      ),
    );
  },

  async token(args, config, out) {
    const [sub, ...rest] = args;
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        role: { type: 'string' },
        group: { type: 'string' },
        label: { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
    });
    const api = ApiClient.fromConfig(config);
    if (sub === 'create') {
      if (!values.role) throw new UsageError('token create needs --role operator|producer|consumer|reader');
      const t = await api.post<TokenView & { token: string }>('/v1/tokens', {
        role: values.role,
        group: values.group,
        label: values.label,
      });
      if (values.json) return out(JSON.stringify(t, null, 2));
      out(`token ${t.id} (${t.role}${t.group ? ` of ${t.group}` : ''}) created; it is shown only now:`);
      return out(t.token);
    }
    if (sub === 'list') {
      const { items } = await api.get<{ items: TokenView[] }>('/v1/tokens');
      if (values.json) return out(JSON.stringify(items, null, 2));
      return out(
        table(
          ['ID', 'ROLE', 'GROUP', 'LABEL', 'CREATED', 'LAST USED', 'REVOKED'],
          items.map((t) => [t.id, t.role, t.group, t.label, t.createdAt, t.lastUsedAt, t.revokedAt]),
        ),
      );
    }
    if (sub === 'revoke') {
      if (positionals.length !== 1 || !positionals[0]) throw new UsageError('token revoke needs exactly one token ID');
      await api.delete(`/v1/tokens/${encodeURIComponent(positionals[0])}`);
      return out(`token ${positionals[0]} revoked`);
    }
    throw new UsageError('expected token create|list|revoke');
  },

  resend: (args, config, out) => messageAction('resend', args, config, out),
  confirm: (args, config, out) => messageAction('confirm', args, config, out),
  cancel: (args, config, out) => messageAction('cancel', args, config, out),
  repair: (args, config, out) => messageAction('repair', args, config, out),

  async stats(args, config, out) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
    const s = await ApiClient.fromConfig(config).get<{
      messages: { total: number; byStatus: Record<string, number>; byTopic: Record<string, Record<string, number>> };
      deliveries: { byConsumerGroup: Record<string, Record<string, number>> };
      archived: number;
    }>('/v1/stats');
    if (values.json) return out(JSON.stringify(s, null, 2));
    out(`messages: ${s.messages.total} (archived: ${s.archived})`);
    out(table(['STATUS', 'COUNT'], Object.entries(s.messages.byStatus)));
    out('\nby topic');
    out(nested('TOPIC', s.messages.byTopic));
    out('\nby consumer group (deliveries)');
    out(nested('GROUP', s.deliveries.byConsumerGroup));
  },
};

async function messageAction(
  action: 'resend' | 'confirm' | 'cancel' | 'repair',
  args: string[],
  config: Config,
  out: Out,
): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { reason: { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
  });
  const key = onlyKey(positionals);
  if (values.reason && action !== 'cancel') throw new UsageError('--reason goes with cancel only');
  // Confirm and cancel are recorded as the operator's in the message's events, as the console's are (a
  // reason is only ever given with cancel, checked above).
  const body = action === 'confirm' || action === 'cancel' ? { by: 'operator', reason: values.reason } : {};
  const state = await ApiClient.fromConfig(config).post<{ status?: string }>(
    `/v1/messages/${encodeURIComponent(key)}/${action}`,
    body,
  );
  out(values.json ? JSON.stringify(state, null, 2) : `${action}: ${key} is now ${state.status ?? 'updated'}`);
}

function onlyKey(positionals: string[]): string {
  if (positionals.length !== 1 || !positionals[0]) throw new UsageError('expected exactly one message KEY');
  try {
    return parseMessageKey(positionals[0]);
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(err.message);
    throw err;
  }
}

function nested(label: string, data: Record<string, Record<string, number>>): string {
  const statuses = [...new Set(Object.values(data).flatMap((r) => Object.keys(r)))].sort();
  return table(
    [label, ...statuses],
    Object.entries(data).map(([name, counts]) => [name, ...statuses.map((s) => counts[s] ?? 0)]),
  );
}

/** Maps an error to the exit code and the line a person sees. */
export function exitCodeFor(err: unknown): { code: number; message: string } {
  const own = (err as { exitCode?: unknown }).exitCode;
  if (typeof own === 'number') return { code: own, message: (err as Error).message };
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    return { code: ExitCode.usage, message: (err as Error).message };
  }
  if (err instanceof ApiCallError) {
    const code =
      err.status === 404
        ? ExitCode.notFound
        : err.status === 409
          ? ExitCode.conflict
          : err.status === 401 || err.status === 403
            ? ExitCode.unauthorized
            : err.status === 400
              ? ExitCode.usage
              : ExitCode.failed;
    return { code, message: `${err.code}: ${err.message}` };
  }
  return { code: ExitCode.failed, message: (err as Error).message ?? String(err) };
}
