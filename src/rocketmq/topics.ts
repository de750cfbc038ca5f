import { nameProblem } from '../names.js';
import { RequestCode, ResponseCode, remotingCall } from './remoting.js';

/** RocketMQ 5 message types; the proxy rejects a message whose type differs from its topic's. */
export type TopicMessageType = 'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION';

const PERM_READ_WRITE = 6;

export interface TopicAdminOptions {
  /** Broker remoting address (host:port), e.g. 127.0.0.1:10911. */
  brokerAddr: string;
  /** Name server address, e.g. 127.0.0.1:9876. */
  namesrv: string;
}

/**
 * Creates (or updates) a topic on the broker and waits until the name server routes it, so that a
 * producer or consumer may use it at once. Idempotent.
 */
export async function ensureTopic(
  opts: TopicAdminOptions,
  topic: string,
  type: TopicMessageType = 'NORMAL',
  queues = 4,
): Promise<void> {
  const problem = nameProblem(topic);
  if (problem) throw new Error(`topic "${topic}" ${problem}`);
  const res = await remotingCall(opts.brokerAddr, RequestCode.UPDATE_AND_CREATE_TOPIC, {
    topic,
    defaultTopic: 'TBW102',
    readQueueNums: String(queues),
    writeQueueNums: String(queues),
    perm: String(PERM_READ_WRITE),
    topicFilterType: 'SINGLE_TAG',
    topicSysFlag: '0',
    order: String(type === 'FIFO'),
    attributes: `+message.type=${type}`,
  });
  if (res.code !== ResponseCode.SUCCESS)
    throw new Error(`creating topic "${topic}" failed: ${res.code} ${res.remark ?? ''}`);
  await waitForRoute(opts.namesrv, topic);
}

/** Deletes a topic from the broker and the name server (operators' runbooks, tests of a lost topic). */
export async function deleteTopic(opts: TopicAdminOptions, topic: string): Promise<void> {
  for (const [address, code] of [
    [opts.brokerAddr, RequestCode.DELETE_TOPIC_IN_BROKER],
    [opts.namesrv, RequestCode.DELETE_TOPIC_IN_NAMESRV],
  ] as const) {
    const res = await remotingCall(address, code, { topic });
    if (res.code !== ResponseCode.SUCCESS)
      throw new Error(`deleting topic "${topic}" failed: ${res.code} ${res.remark ?? ''}`);
  }
}

/** True when the name server has a route for the topic. */
export async function topicRouted(namesrv: string, topic: string): Promise<boolean> {
  const res = await remotingCall(namesrv, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
  return res.code === ResponseCode.SUCCESS;
}

async function waitForRoute(namesrv: string, topic: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await topicRouted(namesrv, topic))) {
    if (Date.now() > deadline) throw new Error(`topic "${topic}" has no route on ${namesrv} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
