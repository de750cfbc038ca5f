import type { Logger } from '../logger.js';
import { ROCKETMQ_PROXY_MAX_DELAY_MS } from './limits.js';
import { type RemotingResponse, RequestCode, ResponseCode, remotingCall } from './remoting.js';
import type { TopicMessageType } from './topics.js';

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
 * maximum delay. Found topics are cached for `ttlMs` and concurrent lookups of a topic share one,
 * so a burst of prepares costs one lookup; missing ones are not cached, so a topic created a moment
 * ago is accepted at once. Once RocketMQ does not answer (within `timeoutMs`), it is not asked again
 * for `ttlMs`: prepares are not slowed down by a broker that is away.
 */
export function createTopicCatalog(opts: {
  namesrv: string;
  log: Logger;
  ttlMs?: number;
  timeoutMs?: number;
}): TopicCatalog {
  const ttlMs = opts.ttlMs ?? 3000;
  const call = (address: string, code: number, extFields: Record<string, string>) =>
    remotingCall(address, code, extFields, { timeoutMs: opts.timeoutMs ?? 1000 });
  const cache = new Map<string, { info: TopicInfo; until: number }>();
  const pending = new Map<string, Promise<TopicInfo | 'missing' | 'unreachable'>>();
  let unreachableUntil = 0;

  /**
   * A name server with no broker registered has no routes at all: while the brokers are down, "no route"
   * says nothing about the topic, and a prepare must not be refused for a broker outage.
   */
  async function requireBrokers(): Promise<void> {
    const cluster = answered(await call(opts.namesrv, RequestCode.GET_BROKER_CLUSTER_INFO, {}));
    // Not JSON.parse: RocketMQ writes the broker ids as bare numbers (`{0:"host:port"}`).
    if (!/"brokerAddrTable":\{\s*"/.test(cluster?.body.toString('utf8') ?? ''))
      throw new Error('no broker is registered with the name server');
  }

  async function fetchInfo(topic: string): Promise<TopicInfo | undefined> {
    const route = answered(await call(opts.namesrv, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }));
    if (!route) {
      await requireBrokers();
      return undefined;
    }
    const masters = parseJson<{ brokerDatas?: { brokerAddrs?: Record<string, string> }[] }>(route.body, 'route')
      .brokerDatas?.map((b) => b.brokerAddrs?.[MASTER_BROKER_ID])
      .filter((a): a is string => typeof a === 'string');
    // Routed, but its master broker is gone: the topic exists; its broker is away.
    if (!masters?.length) throw new Error(`topic ${topic} has no master broker up`);
    const config = answered(await call(masters[0] as string, RequestCode.GET_TOPIC_CONFIG, { topic }));
    if (!config) return undefined;
    const attributes = parseJson<{ attributes?: Record<string, string> }>(config.body, 'topic config').attributes;
    const delays = await Promise.all(
      masters.map(async (broker) => timerMaxDelayMs((await call(broker, RequestCode.GET_BROKER_CONFIG, {})).body)),
    );
    return {
      messageType: (attributes?.['message.type'] as TopicMessageType | undefined) ?? 'NORMAL',
      maxDelayMs: Math.min(ROCKETMQ_PROXY_MAX_DELAY_MS, ...delays),
    };
  }

  async function lookupNow(topic: string): Promise<TopicInfo | 'missing' | 'unreachable'> {
    let info: TopicInfo | undefined;
    try {
      info = await fetchInfo(topic);
    } catch (err) {
      if (unreachableUntil === 0)
        opts.log.warn({ err, topic }, 'cannot look topics up in RocketMQ; messages are accepted unchecked');
      unreachableUntil = Date.now() + ttlMs;
      return 'unreachable';
    }
    if (unreachableUntil !== 0) opts.log.info('RocketMQ topic lookups answer again');
    unreachableUntil = 0;
    if (!info) return 'missing';
    cache.set(topic, { info, until: Date.now() + ttlMs });
    return info;
  }

  return {
    lookup(topic) {
      const hit = cache.get(topic);
      if (hit && hit.until > Date.now()) return Promise.resolve(hit.info);
      cache.delete(topic);
      if (unreachableUntil > Date.now()) return Promise.resolve('unreachable');
      let running = pending.get(topic);
      if (!running) {
        running = lookupNow(topic).finally(() => pending.delete(topic));
        pending.set(topic, running);
      }
      return running;
    },
  };
}

/** A broker's `timerMaxDelaySec` (from its config) in ms; Infinity when it does not say. */
function timerMaxDelayMs(brokerConfig: Buffer): number {
  const line = brokerConfig
    .toString('utf8')
    .split('\n')
    .find((l) => l.startsWith('timerMaxDelaySec='));
  const seconds = Number(line?.slice('timerMaxDelaySec='.length));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : Number.POSITIVE_INFINITY;
}

/** The response, undefined for "no such topic"; any other failure (busy, system error) throws. */
function answered(res: RemotingResponse): RemotingResponse | undefined {
  if (res.code === ResponseCode.TOPIC_NOT_EXIST) return undefined;
  if (res.code !== ResponseCode.SUCCESS) throw new Error(`RocketMQ answered ${res.code} ${res.remark ?? ''}`);
  return res;
}

function parseJson<T>(body: Buffer, what: string): T {
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new Error(`RocketMQ answered a ${what} that is not JSON`);
  }
}
