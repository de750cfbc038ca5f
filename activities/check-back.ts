import http from 'node:http';
import https from 'node:https';
import { Context } from '@temporalio/activity';
import { signCheckBack } from '../src/check-back-signature.js';
import { assertCallableCheckBack, checkedLookup } from '../src/check-back-url.js';
import type { CheckBackKind, CheckBackRoute, Registry } from '../src/db/registry.js';
import type { DependencyGate } from '../src/dependency-gate.js';
import type { CheckBackAnswer, ConsumerCheckBackAnswer } from '../workflows/definitions.js';
import type { ActivityDeps } from './deps.js';

export interface HttpCheckBackInput {
  url: string;
  key: string;
  kind: CheckBackKind;
  group: string;
  /** When the message was created (CheckBackContext); absent from runs scheduled before it was told. */
  createdAt?: number;
}

/**
 * A check-back route lookup's answer. `at` is the clock when it was read: the workflow may decide by it,
 * because a local activity's result replays as recorded. Runs recorded before it recorded a route or null.
 */
export type CheckBackLookup = CheckBackRoute & { at?: number };

export function createCheckBackActivities({
  registry,
  config,
  mysql,
}: Pick<ActivityDeps, 'config'> & { registry: Registry; mysql: DependencyGate }) {
  return {
    /** Where a group's check-back is served (neither url nor task queue when it has none), and when asked. */
    async findCheckBack({ kind, group }: { kind: CheckBackKind; group: string }): Promise<CheckBackLookup> {
      const route = await mysql.call(() => registry.checkBackRouteOf(kind, group));
      return { ...route, at: Date.now() };
    },

    /**
     * POSTs `{ key, group, kind, createdAt }`, signed with the group's secret (read here, so it never enters
     * the workflow's history), and returns the answer word or why the answer is malformed.
     */
    async httpCheckBack(input: HttpCheckBackInput): Promise<string> {
      const secret = await mysql.call(() => registry.checkBackSecretOf(input.kind, input.group));
      if (!secret) throw new Error(`${input.kind} group ${input.group} has no check-back secret; register it again`);
      return askHttpCheckBack(input, {
        secret,
        allowedHosts: config.checkBack.allowedHosts,
        timeoutMs: Context.current().info.startToCloseTimeoutMs,
      });
    },
  };
}

/** The words a check-back of each kind may answer (the workflow accepts nothing else). */
const ANSWERS: Record<HttpCheckBackInput['kind'], readonly (CheckBackAnswer | ConsumerCheckBackAnswer)[]> = {
  producer: ['COMMIT', 'ROLLBACK', 'UNKNOWN'],
  consumer: ['CONSUMED', 'NOT_CONSUMED', 'UNKNOWN'],
};

/** More than this is not an answer; the rest is never read. */
export const MAX_ANSWER_BYTES = 4096;
/** What is kept of a malformed answer: it is stored in the workflow's history. */
const MAX_QUOTED_CHARS = 100;

/** The HTTP call itself: signed, never redirected, 2xx only, the body read up to MAX_ANSWER_BYTES. */
export async function askHttpCheckBack(
  { url, key, kind, group, createdAt }: HttpCheckBackInput,
  opts: { secret: string; allowedHosts: readonly string[]; timeoutMs: number },
): Promise<string> {
  assertCallableCheckBack(url, opts.allowedHosts);
  const body = JSON.stringify({ key, group, kind, createdAt });
  const { pathname, search } = new URL(url);
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...signCheckBack(opts.secret, { method: 'POST', path: `${pathname}${search}`, body }),
  };
  const { status, text, complete } = await post(url, headers, body, opts.timeoutMs);
  if (status < 200 || status > 299) {
    const what = status >= 300 && status < 400 ? ' (a redirect; redirects are not followed)' : '';
    throw new Error(`check-back answered HTTP ${status}${what}: ${text.slice(0, MAX_QUOTED_CHARS)}`);
  }
  if (!complete) return `malformed: the answer is longer than ${MAX_ANSWER_BYTES} bytes`;
  return checkBackAnswerOf(text, kind);
}

/**
 * POSTs `body` and reads at most MAX_ANSWER_BYTES of the answer (the rest is never read). Redirects are
 * not followed (a 3xx could bounce the service's POST to any address), and the connection goes only to
 * an address `checkedLookup` let through.
 */
function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<{ status: number; text: string; complete: boolean }> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      { method: 'POST', headers, lookup: checkedLookup, signal: AbortSignal.timeout(timeoutMs) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const answer = (complete: boolean) =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), complete });
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_ANSWER_BYTES) return void chunks.push(chunk);
          res.destroy();
          answer(false);
        });
        res.on('end', () => answer(true));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The one answer grammar: the whole body is exactly one answer word of the kind (`COMMIT`, no
 * whitespace), or the JSON object `{"status": WORD}` with that one member (whitespace as JSON allows).
 * Read by a pattern, not a JSON parser: parsers disagree on an object with two `status` members (the
 * last wins in JavaScript, the first elsewhere), so that answer is no answer. Anything else comes back
 * as `malformed: ...`, which the workflow records as MALFORMED and asks again later.
 */
export function checkBackAnswerOf(text: string, kind: HttpCheckBackInput['kind']): string {
  const words: readonly string[] = ANSWERS[kind];
  const word = JSON_ANSWER.exec(text)?.[1] ?? text;
  if (words.includes(word)) return word;
  return `malformed: ${JSON.stringify(text.slice(0, MAX_QUOTED_CHARS))}`;
}

/** `{"status":"WORD"}` with JSON's whitespace; the word itself is checked against the kind's words. */
const JSON_ANSWER = /^[ \t\n\r]*\{[ \t\n\r]*"status"[ \t\n\r]*:[ \t\n\r]*"([A-Z_]+)"[ \t\n\r]*\}[ \t\n\r]*$/;
