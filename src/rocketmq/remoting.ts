import net from 'node:net';

/**
 * A minimal client for RocketMQ's remoting protocol (the broker's and name server's admin port).
 * rocketmq-client-nodejs speaks only gRPC to the proxy, which cannot create topics; starting the Java
 * admin tool costs seconds per call, this costs milliseconds.
 *
 * Frame: int32 length | int32 (serialize type << 24 | header length) | JSON header | body.
 */
export interface RemotingResponse {
  code: number;
  remark?: string;
  extFields?: Record<string, string>;
  body: Buffer;
}

const RESPONSE_FLAG = 1;

/** The request codes this project sends (RocketMQ's RequestCode), in one place. */
export const RequestCode = {
  UPDATE_AND_CREATE_TOPIC: 17,
  GET_BROKER_CONFIG: 26,
  GET_ROUTEINFO_BY_TOPIC: 105,
  GET_BROKER_CLUSTER_INFO: 106,
  DELETE_TOPIC_IN_BROKER: 215,
  DELETE_TOPIC_IN_NAMESRV: 216,
  GET_TOPIC_CONFIG: 351,
} as const;

/** The response codes it reads (RocketMQ's ResponseCode). */
export const ResponseCode = { SUCCESS: 0, TOPIC_NOT_EXIST: 17 } as const;
let nextOpaque = 1;

export async function remotingCall(
  address: string,
  code: number,
  extFields: Record<string, string>,
  { timeoutMs = 5000 }: { timeoutMs?: number } = {},
): Promise<RemotingResponse> {
  const [host, port] = splitAddress(address);
  const opaque = nextOpaque++;
  const header = Buffer.from(
    JSON.stringify({
      code,
      language: 'JAVA',
      version: 475,
      opaque,
      flag: 0,
      extFields,
      serializeTypeCurrentRPC: 'JSON',
    }),
  );
  const frame = Buffer.alloc(8);
  frame.writeInt32BE(4 + header.length, 0);
  frame.writeInt32BE(header.length, 4); // serialize type 0 = JSON in the high byte

  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let received = Buffer.alloc(0);
    const fail = (err: Error) => {
      socket.destroy();
      reject(new Error(`RocketMQ remoting call ${code} to ${address} failed: ${err.message}`));
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no answer in ${timeoutMs} ms`)));
    socket.on('error', fail);
    socket.on('connect', () => socket.write(Buffer.concat([frame, header])));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const length = received.readInt32BE(0);
      if (received.length < 4 + length) return;
      socket.end();
      // A throw here would be uncaught (an event listener): every problem of the answer rejects instead.
      const parsed = parseResponse(received, length);
      if (parsed instanceof Error) return fail(parsed);
      if ((parsed.flag & RESPONSE_FLAG) === 0) return fail(new Error('got a request, not a response'));
      resolve(parsed);
    });
  });
}

function parseResponse(received: Buffer, length: number): (RemotingResponse & { flag: number }) | Error {
  if (length < 4) return new Error(`the answer's frame length ${length} is invalid`);
  const headerLength = received.readInt32BE(4) & 0xffffff;
  if (headerLength > length - 4) return new Error(`the answer's header length ${headerLength} is invalid`);
  try {
    const header = JSON.parse(received.subarray(8, 8 + headerLength).toString('utf8')) as {
      code: number;
      flag: number;
      remark?: string;
      extFields?: Record<string, string>;
    };
    return { ...header, body: received.subarray(8 + headerLength, 4 + length) };
  } catch {
    return new Error("the answer's header is not JSON");
  }
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port)) throw new Error(`invalid RocketMQ address "${address}", expected host:port`);
  return [address.slice(0, i), port];
}
