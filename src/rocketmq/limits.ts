/**
 * What RocketMQ 5's proxy refuses to publish, found by publishing to the local stack (5.3.3) and
 * matching its ProxyConfig defaults and SendMessageActivity checks. A message that breaks one of
 * these is refused at prepare/send: RocketMQ would refuse every publish of it.
 */

/** `userPropertyMaxNum`: more user properties answer "too many user properties, max is 128". */
export const ROCKETMQ_MAX_PROPERTIES = 128;
/**
 * `maxUserPropertySize`: the UTF-8 bytes of every property name and value plus the tag plus the keys
 * must not exceed this ("the total size of user property is too large, max is 16384").
 */
export const ROCKETMQ_MAX_PROPERTY_BYTES = 16_384;
/** `maxMessageGroupSize`: a FIFO message group of 64 bytes or more is refused. */
export const ROCKETMQ_MAX_MESSAGE_GROUP_BYTES = 63;
/**
 * `maxDelayTimeMills`: the proxy refuses a longer delay ("the max delay time of message is too large,
 * max is 86400000") whatever the broker's `timerMaxDelaySec` (3 days by default) allows. The proxy's
 * setting cannot be read remotely; the broker's is read over remoting and the smaller one applies.
 */
export const ROCKETMQ_PROXY_MAX_DELAY_MS = 86_400_000;

/**
 * The service's own properties on every publication (RMSG_KEY, RMSG_GROUPS, RMSG_ROUND,
 * RMSG_PRODUCER_GROUP, see MessageProperty); a message's own properties get the rest.
 */
export const SERVICE_PROPERTY_COUNT = 4;
export const MAX_USER_PROPERTIES = ROCKETMQ_MAX_PROPERTIES - SERVICE_PROPERTY_COUNT;
/**
 * Half of RocketMQ's budget for a message's own property names and values. The other half holds the
 * tag and the key (at most 191 bytes each, the key twice: in the keys and in RMSG_KEY), the producer
 * group and RMSG_GROUPS, which lists the consumer groups a publication is for (over 7 KiB: 58 groups of
 * the longest name, hundreds of usual ones).
 */
export const MAX_USER_PROPERTY_BYTES = ROCKETMQ_MAX_PROPERTY_BYTES / 2;

/**
 * RocketMQ 5.3's system property names (MessageConst.STRING_HASH_SET): a user property named so is
 * refused ("property is used by system").
 */
export const ROCKETMQ_SYSTEM_PROPERTIES: ReadonlySet<string> = new Set([
  'TRACE_ON',
  'MSG_REGION',
  'KEYS',
  'TAGS',
  'WAIT',
  'DELAY',
  'RETRY_TOPIC',
  'REAL_TOPIC',
  'REAL_QID',
  'TRAN_MSG',
  'PGROUP',
  'MIN_OFFSET',
  'MAX_OFFSET',
  'BUYER_ID',
  'ORIGIN_MESSAGE_ID',
  'TRANSFER_FLAG',
  'CORRECTION_FLAG',
  'MQ2_FLAG',
  'RECONSUME_TIME',
  'UNIQ_KEY',
  'MAX_RECONSUME_TIMES',
  'CONSUME_START_TIME',
  'POP_CK',
  'POP_CK_OFFSET',
  '1ST_POP_TIME',
  'TRAN_PREPARED_QUEUE_OFFSET',
  'DUP_INFO',
  'EXTEND_UNIQ_INFO',
  'INSTANCE_ID',
  'CORRELATION_ID',
  'REPLY_TO_CLIENT',
  'TTL',
  'ARRIVE_TIME',
  'PUSH_REPLY_TIME',
  'CLUSTER',
  'MSG_TYPE',
  'INNER_MULTI_QUEUE_OFFSET',
  'TIMER_DELAY_MS',
  'TIMER_DELAY_SEC',
  'TIMER_DELIVER_MS',
  'TIMER_ENQUEUE_MS',
  'TIMER_DEQUEUE_MS',
  'TIMER_ROLL_TIMES',
  'TIMER_OUT_MS',
  'TIMER_DEL_UNIQKEY',
  'TIMER_DELAY_LEVEL',
  '__BORNHOST',
  'BORN_TIMESTAMP',
  'DLQ_ORIGIN_TOPIC',
  'DLQ_ORIGIN_MESSAGE_ID',
  '__CRC32#',
]);

/** Control characters: RocketMQ refuses them in property names and values and in message groups. */
export const CONTROL_CHARACTER = /\p{Cc}/u;
