import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { ApiClient } from './api-client.js';
import { ExitCode, UsageError } from './operator-commands.js';
import { table } from './table.js';

/** `rmsg triage`, `redrive`, `redrives` and `audit`: DEAD triage, bulk redrive and the audit, over the API. */

interface Redrive {
  id: string;
  requestedBy: string;
  action: string;
  filter: Record<string, string>;
  ratePerSecond: number;
  status: string;
  total: number;
  done: number;
  skipped: number;
  failed: number;
  lastError: string | null;
  createdAt: string;
  finishedAt: string | null;
}

interface AuditReport {
  id: string;
  from: string;
  to: string;
  repair: boolean;
  checked: number;
  findings: Record<string, { count: number; sample: string[]; repaired: number }>;
}

type Out = (line: string) => void;

/** An audit that leaves findings behind exits with this code, so a cron job or CI step can alert. */
export class FindingsLeft extends Error {
  readonly exitCode = ExitCode.findings;
}

const FILTER_OPTIONS = {
  status: { type: 'string' },
  reason: { type: 'string' },
  topic: { type: 'string' },
  'consumer-group': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  'error-class': { type: 'string' },
} as const;

const progressLine = (r: Redrive) =>
  `redrive ${r.id} ${r.status}: ${r.done}/${r.total} done, ${r.skipped} skipped, ${r.failed} failed ` +
  `(${r.action} at ${r.ratePerSecond}/s)${r.lastError ? `; last error: ${r.lastError}` : ''}`;

export const REDRIVE_COMMANDS: Record<string, (args: string[], config: Config, out: Out) => Promise<void>> = {
  async triage(args, config, out) {
    const { values } = parseArgs({ args, options: { topic: { type: 'string' }, json: { type: 'boolean' } } });
    const groups = await ApiClient.fromConfig(config).get<
      {
        reason: string;
        topic: string;
        consumerGroup: string | null;
        errorClass: string;
        count: number;
        oldestDeadAt: string | null;
      }[]
    >('/v1/dead-groups', { topic: values.topic });
    if (values.json) return out(JSON.stringify(groups, null, 2));
    out(
      table(
        ['COUNT', 'REASON', 'TOPIC', 'GROUP', 'ERROR CLASS', 'OLDEST'],
        groups.map((g) => [g.count, g.reason, g.topic, g.consumerGroup, g.errorClass, g.oldestDeadAt]),
      ),
    );
    if (groups.length > 0) out('\nredrive a group: rmsg redrive --reason R --topic T --consumer-group G --dry-run');
  },

  async redrive(args, config, out) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        ...FILTER_OPTIONS,
        action: { type: 'string' },
        rate: { type: 'string' },
        'dry-run': { type: 'boolean' },
        by: { type: 'string' },
        'no-wait': { type: 'boolean' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
    });
    if (positionals.length > 0) throw new UsageError(`redrive takes options only, not "${positionals[0]}"`);
    const rate = values.rate === undefined ? undefined : Number(values.rate);
    if (rate !== undefined && !Number.isInteger(rate)) throw new UsageError('--rate must be an integer');
    const filter = Object.fromEntries(
      Object.entries({
        status: values.status,
        reason: values.reason,
        topic: values.topic,
        consumerGroup: values['consumer-group'],
        from: values.from,
        to: values.to,
        errorClass: values['error-class'],
      }).filter(([, v]) => v !== undefined),
    );
    const client = ApiClient.fromConfig(config);
    const body = {
      filter,
      action: values.action,
      ratePerSecond: rate,
      dryRun: values['dry-run'] ?? false,
      requestedBy: values.by ?? process.env.USER ?? userInfo().username,
    };
    if (body.dryRun) {
      const dry = await client.post<{ matched: number; sample: { key: string; topic: string; errorClass: string }[] }>(
        '/v1/redrives',
        body,
      );
      if (values.json) return out(JSON.stringify(dry, null, 2));
      out(`dry run: ${dry.matched} messages match ${JSON.stringify({ status: 'DEAD', ...filter })}; nothing changed`);
      if (dry.sample.length > 0)
        out(
          table(
            ['SAMPLE KEY', 'TOPIC', 'ERROR CLASS'],
            dry.sample.map((s) => [s.key, s.topic, s.errorClass]),
          ),
        );
      return;
    }
    let r = await client.post<Redrive>('/v1/redrives', body);
    if (values['no-wait']) return out(values.json ? JSON.stringify(r, null, 2) : progressLine(r));
    let shown = '';
    for (;;) {
      const line = progressLine(r);
      if (line !== shown && !values.json) out(line);
      shown = line;
      if (r.status !== 'RUNNING') break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      r = await client.get<Redrive>(`/v1/redrives/${r.id}`);
    }
    if (values.json) out(JSON.stringify(r, null, 2));
  },

  async redrives(args, config, out) {
    const { values, positionals } = parseArgs({
      args,
      options: { limit: { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: true,
    });
    const client = ApiClient.fromConfig(config);
    if (positionals.length > 1) throw new UsageError('expected at most one redrive ID');
    if (positionals[0]) {
      const r = await client.get<Redrive>(`/v1/redrives/${encodeURIComponent(positionals[0])}`);
      return out(values.json ? JSON.stringify(r, null, 2) : progressLine(r));
    }
    const list = await client.get<Redrive[]>('/v1/redrives', { limit: values.limit });
    if (values.json) return out(JSON.stringify(list, null, 2));
    out(
      table(
        ['ID', 'STATUS', 'BY', 'ACTION', 'DONE', 'SKIPPED', 'FAILED', 'FILTER', 'CREATED'],
        list.map((r) => [
          r.id,
          r.status,
          r.requestedBy,
          r.action,
          `${r.done}/${r.total}`,
          r.skipped,
          r.failed,
          JSON.stringify(r.filter),
          r.createdAt,
        ]),
      ),
    );
  },

  async audit(args, config, out) {
    const { values } = parseArgs({
      args,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        repair: { type: 'boolean' },
        json: { type: 'boolean' },
      },
    });
    const report = await ApiClient.fromConfig(config).post<AuditReport>('/v1/audits', {
      from: values.from,
      to: values.to,
      repair: values.repair ?? false,
    });
    if (values.json) out(JSON.stringify(report, null, 2));
    else {
      out(`audit ${report.id}: ${report.checked} rows and workflows created ${report.from} .. ${report.to}`);
      out(
        table(
          ['FINDING', 'COUNT', 'REPAIRED', 'SAMPLE'],
          Object.entries(report.findings).map(([kind, f]) => [
            kind,
            f.count,
            f.repaired,
            f.sample.slice(0, 5).join(' '),
          ]),
        ),
      );
    }
    const left = Object.values(report.findings).reduce((n, f) => n + f.count - f.repaired, 0);
    if (left > 0) throw new FindingsLeft(`${left} findings left${report.repair ? ' after repair' : ' (try --repair)'}`);
  },
};
