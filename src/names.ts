import { z } from 'zod';

/**
 * The rules for message keys and for topic and group names, and the well-formed Unicode rule of every
 * string a message carries: one home, used by the SDKs, the HTTP API, the CLI and topic creation.
 */

/**
 * Every string of a message (key, names, body, tag, orderKey, property names and values) must be
 * well-formed Unicode. An unpaired surrogate (`"a\ud800b"` in JSON) is stored as U+FFFD by MySQL and
 * RocketMQ (UTF-8 has no form for it) but as sent by Temporal, so the copies of one message would
 * differ. In the u flag's view a surrogate pair is one code point, so only an unpaired one matches.
 */
const UNPAIRED_SURROGATE = /\p{Cs}/u;

/** A string checked for well-formed Unicode first; `error` is the rule for a value that is no string. */
export const wellFormedString = (error = 'must be a string') =>
  z
    .string({ error })
    .refine((s) => !UNPAIRED_SURROGATE.test(s), 'must be well-formed Unicode (no unpaired surrogates)');

export const MAX_KEY_LENGTH = 191;
export const MAX_NAME_LENGTH = 127;

/**
 * A key is 1-191 printable ASCII characters without spaces (191: the utf8mb4 index limit of its
 * column) and must be reachable in a URL path segment by any client: `/ ? # % \` are refused (clients
 * and proxies split, cut, decode or rewrite them even when percent-encoded), and so are `.` and `..`
 * (every URL parser removes them as dot segments).
 */
const KEY_CHARS = /^[\x21-\x7e]+$/;
const KEY_URL_UNSAFE = /[/?#%\\]/;

export const messageKeySchema = wellFormedString('is required and must be a string')
  .min(1, 'must not be empty')
  .max(MAX_KEY_LENGTH, `must be at most ${MAX_KEY_LENGTH} characters`)
  .regex(KEY_CHARS, 'must be printable ASCII without spaces')
  .refine((k) => !KEY_URL_UNSAFE.test(k), "must not contain '/', '?', '#', '%' or '\\' (unsafe in a URL path)")
  .refine((k) => k !== '.' && k !== '..', "must not be '.' or '..' (URL dot segments)");

/**
 * Topic and group names. RocketMQ itself also takes `%` and `|`, but only for its own retry, DLQ and
 * LMQ topics (`%RETRY%group`), so they are refused here, as are its system topics and groups: a
 * message published there or a group named so would interfere with the broker.
 */
const NAME_CHARS = /^[a-zA-Z0-9_-]+$/;
const RESERVED_PREFIXES = ['rmq_sys_', 'RMQ_SYS_', 'CID_RMQ_SYS_'];
/** RocketMQ 5.3's TopicValidator system topics and MixAll predefined groups. */
const RESERVED_NAMES = new Set([
  'TBW102',
  'SCHEDULE_TOPIC_XXXX',
  'BenchmarkTest',
  'TRANS_CHECK_MAX_TIME_TOPIC',
  'SELF_TEST_TOPIC',
  'OFFSET_MOVED_EVENT',
  'CHECKPOINT_TOPIC',
  'DefaultCluster',
  'DEFAULT_PRODUCER',
  'DEFAULT_CONSUMER',
  'TOOLS_CONSUMER',
  'SCHEDULE_CONSUMER',
  'FILTERSRV_CONSUMER',
  '__MONITOR_CONSUMER',
  'CLIENT_INNER_PRODUCER',
  'SELF_TEST_P_GROUP',
  'SELF_TEST_C_GROUP',
  'CID_ONS-HTTP-PROXY',
  'CID_ONSAPI_PERMISSION',
  'CID_ONSAPI_OWNER',
  'CID_ONSAPI_PULL',
]);

export function isReservedName(name: string): boolean {
  return RESERVED_NAMES.has(name) || RESERVED_PREFIXES.some((p) => name.startsWith(p));
}

export const nameSchema = wellFormedString('is required and must be a string')
  .regex(NAME_CHARS, `must be 1-${MAX_NAME_LENGTH} of [a-zA-Z0-9_-]`)
  .max(MAX_NAME_LENGTH, `must be 1-${MAX_NAME_LENGTH} of [a-zA-Z0-9_-]`)
  .refine((n) => !isReservedName(n), 'is reserved by RocketMQ (a system topic or group)');

/** The name rule outside zod (topic creation): the reason a name is refused, or undefined. */
export function nameProblem(name: string): string | undefined {
  const parsed = nameSchema.safeParse(name);
  return parsed.success ? undefined : parsed.error.issues[0]?.message;
}
