import { describe, expect, it } from 'vitest';
import { ReliableMessageClient, ValidationError } from '../../src/client/index.js';
import { ReliableConsumer } from '../../src/consumer/index.js';

const refusal = (err: unknown) => (err instanceof ValidationError ? `${err.field} ${err.message}` : String(err));

describe('the SDKs check their options alike, before connecting', () => {
  it('the producer refuses a bad option with a ValidationError naming the field and the rule', async () => {
    const connect = (opts: object) =>
      ReliableMessageClient.connect({ producerGroup: 'orders', ...opts }).then(async (client) => {
        await client.close();
        return 'connected';
      }, refusal);
    expect(await connect({ producerGroup: '' })).toBe('producerGroup producerGroup must not be empty');
    expect(await connect({ producerGroup: 'order service' })).toMatch(/^producerGroup producerGroup must be 1-127/);
    expect(await connect({ temporal: { address: '' } })).toBe('temporal.address temporal.address must not be empty');
    expect(await connect({ bogus: 1 })).toBe('input input has unknown field(s): bogus');
  });

  it('a rule both SDKs have refuses a bad value in the same words', async () => {
    const producer = await ReliableMessageClient.connect({ producerGroup: 'orders', registrationTimeoutMs: -1 }).catch(
      refusal,
    );
    const consumer = await ReliableConsumer.start({
      group: 'stock',
      topic: 'orders',
      handler: async () => undefined,
      registrationTimeoutMs: -1,
    }).catch(refusal);
    expect(producer).toBe('registrationTimeoutMs registrationTimeoutMs must be a positive number of milliseconds');
    expect(consumer).toBe(producer);
  });
});
