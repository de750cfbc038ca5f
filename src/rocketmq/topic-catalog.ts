import type { Logger } from '../logger.js';
import { ROCKETMQ_PROXY_MAX_DELAY_MS } from './limits.js';
import { remotingCall } from './remoting.js';
import type { TopicMessageType } from './topics.js';

const GET_BROKER_CONFIG = 26;
const GET_ROUTEINFO_BY_TOPIC = 105;
const GET_TOPIC_CONFIG = 351;
const SUCCESS = 0;
const MASTER_BROKER_ID = '0';

/** What a publication to a topic must fit: the topic's message type and the longest delay. */
export interface TopicInfo {
  messageType: TopicMessageType;
  /** The smaller of the brokers' `timerMaxDelaySec` and the proxy's maximum delay. */
  maxDelayMs: number;
}

/** Answers "does this topic exist, and of which type" from the name server and brokers. */
export interface TopicCatalog {
  /** `unreachable`: RocketMQ could not be asked (logged once until it answers again). */
  lookup(topic: string): Promise<TopicInfo | 'missing' | 'unreachable'>;
}

/**
 * Looks topics up over RocketMQ remoting: the name server's route names the brokers, a broker gives
 * the topic's `message.type` attribute (none means NORMAL, as the proxy treats it) and its timer's
 * maximum delay. Found topics are cached for `ttlMs`, so a burst of prepares costs one lookup;
 * missing ones are not, so a topic created a moment ago is accepted at once.
 */
export function createTopicCatalog(opts: { namesrv: string; log: Logger; ttlMs?: number }): TopicCatalog {
  const ttlMs = opts.ttlMs ?? 3000;
  const cache = new Map<string, { info: TopicInfo; until: number }>();
  let unreachable = false;

  async function fetchInfo(topic: string): Promise<TopicInfo | undefined> {
    const route = await remotingCall(opts.namesrv, GET_ROUTEINFO_BY_TOPIC, { topic });
    if (route.code !== SUCCESS) return undefined; // TOPIC_NOT_EXIST
    const masters = parseJson<{ brokerDatas?: { brokerAddrs?: Record<string, string> }[] }>(route.body, 'route')
      .brokerDatas?.map((b) => b.brokerAddrs?.[MASTER_BROKER_ID])
      .filter((a): a is string => typeof a === 'string');
    if (!masters?.length) return undefined;
    const config = await remotingCall(masters[0] as string, GET_TOPIC_CONFIG, { topic });
    if (config.code !== SUCCESS) return undefined;
    const attributes = parseJson<{ attributes?: Record<string, string> }>(config.body, 'topic config').attributes;
    const delays = await Promise.all(masters.map(brokerMaxDelayMs));
    return {
      messageType: (attributes?.['message.type'] as TopicMessageType | undefined) ?? 'NORMAL',
      maxDelayMs: Math.min(ROCKETMQ_PROXY_MAX_DELAY_MS, ...delays),
    };
  }

  return {
    async lookup(topic) {
      const hit = cache.get(topic);
      if (hit && hit.until > Date.now()) return hit.info;
      let info: TopicInfo | undefined;
      try {
        info = await fetchInfo(topic);
      } catch (err) {
        if (!unreachable) opts.log.warn({ err, topic }, 'cannot look topics up in RocketMQ; messages are not checked');
        unreachable = true;
        return 'unreachable';
      }
      if (unreachable) opts.log.info('RocketMQ topic lookups answer again');
      unreachable = false;
      if (!info) {
        cache.delete(topic);
        return 'missing';
      }
      cache.set(topic, { info, until: Date.now() + ttlMs });
      return info;
    },
  };
}

/** A broker's `timerMaxDelaySec` in ms; Infinity when it does not say (the proxy's limit applies). */
async function brokerMaxDelayMs(brokerAddr: string): Promise<number> {
  const res = await remotingCall(brokerAddr, GET_BROKER_CONFIG, {});
  const line = res.body
    .toString('utf8')
    .split('\n')
    .find((l) => l.startsWith('timerMaxDelaySec='));
  const seconds = Number(line?.slice('timerMaxDelaySec='.length));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : Number.POSITIVE_INFINITY;
}

function parseJson<T>(body: Buffer, what: string): T {
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new Error(`RocketMQ answered a ${what} that is not JSON`);
  }
}
