import { describe, expect, it } from 'vitest';
import * as M from '../../workflows/message-state.js';
import { ProjectionSync } from '../../workflows/projection-sync.js';
import { UNIT_TIMINGS } from '../helpers/unit-timings.js';

const spec = { key: 'k1', topic: 't', body: 'b', producerGroup: 'p' };
const confirmedMessage = (): M.Tracked => {
  const t: M.Tracked = { state: M.initialState(spec, UNIT_TIMINGS, 0, true), unsynced: [] };
  M.record(t, 0, 'PREPARED');
  return t;
};

describe('projection sync', () => {
  it('the first write carries the message and every event; later ones only what changed since', () => {
    const t = confirmedMessage();
    const sync = new ProjectionSync(spec, false);
    expect(sync.needed(t)).toBe(true);
    const first = sync.next(t);
    expect(first.input.message).toEqual(spec);
    expect(first.input.events.map((e) => e.type)).toEqual(['PREPARED']);
    sync.written(t, first);
    expect(sync.needed(t)).toBe(false);
    expect(t.unsynced).toEqual([]);

    M.snapshotSubscribers(t, 1, ['a', 'b']);
    M.published(t, 2, ['a', 'b'], 'm1');
    const second = sync.next(t);
    expect(second.input.message).toBeUndefined();
    expect(second.input.deliveries.map((d) => d.group)).toEqual(['a', 'b']);
    sync.written(t, second);

    M.applyAck(t, 3, { group: 'b', status: 'CONSUMED' });
    const third = sync.next(t);
    expect(third.input.deliveries.map((d) => d.group)).toEqual(['b']);
    expect(third.input.events.map((e) => e.type)).toEqual(['CONSUMED']);
    expect(third.version).toBeGreaterThan(second.version);
  });

  it('a failed write is taken again with what changed meanwhile; events that landed are not sent twice', () => {
    const t = confirmedMessage();
    const sync = new ProjectionSync(spec, false);
    sync.next(t); // fails: never counted as written
    M.snapshotSubscribers(t, 1, ['a']);
    const retried = sync.next(t);
    expect(retried.input.message).toEqual(spec);
    expect(retried.input.events.map((e) => e.type)).toEqual(['PREPARED', 'SUBSCRIBERS']);

    // The state moves on while the write is under way: only its own events leave the queue.
    M.published(t, 2, ['a'], 'm1');
    sync.written(t, retried);
    expect(sync.needed(t)).toBe(true);
    expect(t.unsynced.map((e) => e.type)).toEqual(['PUBLISHED']);
    expect(sync.next(t).input.deliveries.map((d) => d.sendCount)).toEqual([1]);
  });

  it('a run continued as new with its row written does not send the message again', () => {
    const t = confirmedMessage();
    const sync = new ProjectionSync(spec, true);
    expect(sync.next(t).input.message).toBeUndefined();
    // Its first write still carries every delivery: it cannot know which ones the last run wrote.
    M.snapshotSubscribers(t, 1, ['a']);
    expect(sync.next(t).input.deliveries.map((d) => d.group)).toEqual(['a']);
  });
});
