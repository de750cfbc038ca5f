import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import type { SdkConfig } from '../sdk-config.js';

/**
 * Encrypts every payload Temporal stores (workflow inputs with message bodies, activity inputs and
 * results, signals, queries) with AES-256-GCM, so history holds ciphertext only. The payload's key id
 * is in its metadata: rotating means adding a key and encrypting with it, while old payloads still
 * decrypt with theirs. Payloads without the encrypted encoding pass through (written before the codec
 * was turned on).
 */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const utf8 = new TextEncoder();

export interface CodecKeys {
  keys: Map<string, Buffer>;
  encryptWith: string;
}

/** Parses `id:base64key,...` (32-byte keys); undefined when no key is configured (codec off). */
export function codecKeysOf(codec: SdkConfig['codec']): CodecKeys | undefined {
  const entries = codec.keys
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) return undefined;
  const keys = new Map<string, Buffer>();
  for (const entry of entries) {
    const [id, encoded] = entry.split(':');
    if (!id || !encoded || !/^[\w-]{1,64}$/.test(id))
      throw new Error('RMSG_CODEC_KEYS must be id:base64key pairs joined by commas (id of [A-Za-z0-9_-])');
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== 32) throw new Error(`RMSG_CODEC_KEYS key ${id} must be 32 bytes (base64), not ${key.length}`);
    keys.set(id, key);
  }
  const encryptWith = codec.encryptWith ?? [...keys.keys()].at(-1) ?? '';
  if (!keys.has(encryptWith)) throw new Error(`RMSG_CODEC_ENCRYPT_WITH names ${encryptWith}, which is no key`);
  return { keys, encryptWith };
}

const b64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('base64');

export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly config: CodecKeys) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const id = this.config.encryptWith;
    const key = this.config.keys.get(id) as Buffer;
    return payloads.map((p) => {
      // The whole payload, metadata included (it names the original encoding), is encrypted.
      const plain = JSON.stringify({
        metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
        data: b64(p.data),
      });
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const sealed = Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(id) },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const meta = p.metadata ?? {};
      if (Buffer.from(meta.encoding ?? []).toString() !== ENCRYPTED_ENCODING) return p;
      const id = Buffer.from(meta[KEY_ID_METADATA] ?? []).toString();
      const key = this.config.keys.get(id);
      if (!key) throw new Error(`payload encrypted with key ${id}, which is not in RMSG_CODEC_KEYS`);
      const sealed = Buffer.from(p.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
      const parsed = JSON.parse(plain.toString('utf8')) as { metadata: Record<string, string>; data: string };
      return {
        metadata: Object.fromEntries(Object.entries(parsed.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
        data: Buffer.from(parsed.data, 'base64'),
      };
    });
  }
}

/** The data converter every Temporal client and worker of the system uses: the codec when configured. */
export function dataConverterOf(codec: SdkConfig['codec']): DataConverter | undefined {
  const keys = codecKeysOf(codec);
  return keys ? { payloadCodecs: [new AesGcmCodec(keys)] } : undefined;
}
