/**
 * The one conformance suite every Store backend must pass, so the layers above
 * can rely on the same semantics whichever backend a runtime uses.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TroupeError, type TroupeErrorCode } from '../../src/errors.js';
import { compareKeys, parseSeq, prefixRange, seqKey } from '../../src/store/keys.js';
import type { Collection, RangeOptions, Store } from '../../src/store/store.js';

export interface OpenedStore {
  store: Store;
  cleanup(): Promise<void>;
}

/** Rejects with a TroupeError of `code` whose message contains every `parts`. */
export async function expectTroupeError(
  action: Promise<unknown>,
  code: TroupeErrorCode,
  ...parts: string[]
): Promise<TroupeError> {
  const error = await action.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(TroupeError);
  const troupeError = error as TroupeError;
  expect(troupeError.code).toBe(code);
  for (const part of parts) expect(troupeError.message).toContain(part);
  return troupeError;
}

async function collect<T>(iterable: AsyncIterable<[string, T]>): Promise<Array<[string, T]>> {
  const entries: Array<[string, T]> = [];
  for await (const entry of iterable) entries.push(entry);
  return entries;
}

export function describeStoreConformance(name: string, open: () => Promise<OpenedStore>): void {
  describe(`Store conformance: ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    const put = (collection: Collection, key: string, value: unknown) =>
      store.batch([{ type: 'put', collection, key, value }]);
    const keysOf = async (collection: Collection, options?: RangeOptions) =>
      (await collect(store.range<unknown>(collection, options))).map(([key]) => key);

    it('get of a missing key is undefined', async () => {
      expect(await store.get('workflows', 'nope')).toBeUndefined();
      await put('workflows', 'wf1', { ok: true });
      expect(await store.get('jobs', 'wf1')).toBeUndefined();
    });

    it('round-trips nested JSON', async () => {
      const value = {
        text: 'héllo 👋',
        n: -1.5,
        big: Number.MAX_SAFE_INTEGER,
        flags: [true, false, null],
        nested: { deep: { list: [{ a: 1 }, [], {}] } },
        empty: '',
      };
      await put('snapshots', seqKey('wf1', 1), value);
      expect(await store.get('snapshots', seqKey('wf1', 1))).toEqual(value);
      await put('meta', 'scalar', 0);
      expect(await store.get('meta', 'scalar')).toBe(0);
      await put('meta', 'null', null);
      expect(await store.get('meta', 'null')).toBeNull();
    });

    it('follows JSON semantics: a Date is read back as its ISO string', async () => {
      const at = new Date('2024-01-02T03:04:05.000Z');
      await put('meta', 'when', { at, gone: undefined });
      expect(await store.get('meta', 'when')).toEqual({ at: at.toISOString() });
    });

    it('stores the JSON a put carries (serialised once by its writer) instead of its value', async () => {
      const value = { status: 'completed', tasks: { a: 'done' } };
      // Different on purpose: what is stored is the JSON, not a second serialisation of value.
      const json = JSON.stringify({ ...value, from: 'json' });
      await store.batch([{ type: 'put', collection: 'workflows', key: 'wf1', value, json }]);
      expect(await store.get('workflows', 'wf1')).toEqual({ ...value, from: 'json' });
    });

    it('isolates the stored copy from later mutation', async () => {
      const value = { tasks: [{ id: 't1', done: false }] };
      await put('workflows', 'wf1', value);
      value.tasks[0]!.done = true;
      value.tasks.push({ id: 't2', done: true });
      const read = await store.get<typeof value>('workflows', 'wf1');
      expect(read).toEqual({ tasks: [{ id: 't1', done: false }] });
      read!.tasks.length = 0;
      expect(await store.get('workflows', 'wf1')).toEqual({ tasks: [{ id: 't1', done: false }] });
    });

    it('writes a batch across collections', async () => {
      await store.batch([
        { type: 'put', collection: 'workflows', key: 'wf1', value: { status: 'running' } },
        { type: 'put', collection: 'journal', key: seqKey('wf1', 1), value: { type: 'x' } },
        { type: 'put', collection: 'contexts', key: 'wf1', value: { version: 1 } },
        { type: 'put', collection: 'meta', key: 'k', value: 1 },
        { type: 'put', collection: 'meta', key: 'k', value: 2 },
      ]);
      expect(await store.get('workflows', 'wf1')).toEqual({ status: 'running' });
      expect(await store.get('journal', seqKey('wf1', 1))).toEqual({ type: 'x' });
      expect(await store.get('contexts', 'wf1')).toEqual({ version: 1 });
      // Later ops in one batch win, as in LevelDB.
      expect(await store.get('meta', 'k')).toBe(2);
    });

    describe('a batch with a bad op writes nothing', () => {
      beforeEach(async () => {
        await put('jobs', 'job1', { state: 'queued' });
      });
      const good = [
        { type: 'put', collection: 'workflows', key: 'wf1', value: { status: 'running' } },
        { type: 'del', collection: 'jobs', key: 'job1' },
      ] as const;
      const unchanged = async () => {
        expect(await store.get('workflows', 'wf1')).toBeUndefined();
        expect(await store.get('jobs', 'job1')).toEqual({ state: 'queued' });
      };

      it('a value that is not JSON-serialisable (BigInt)', async () => {
        const bad = { type: 'put', collection: 'journal', key: 'wf1/x', value: { n: 1n } } as const;
        await expectTroupeError(store.batch([...good, bad]), 'INVALID_INPUT', 'wf1/x', 'journal');
        await unchanged();
      });

      it('a cyclic value and an undefined value', async () => {
        const cyclic: { self?: unknown } = {};
        cyclic.self = cyclic;
        await expectTroupeError(
          store.batch([...good, { type: 'put', collection: 'meta', key: 'c', value: cyclic }]),
          'INVALID_INPUT',
          'JSON',
        );
        await expectTroupeError(
          store.batch([...good, { type: 'put', collection: 'meta', key: 'u', value: undefined }]),
          'INVALID_INPUT',
          "'del'",
        );
        await unchanged();
      });

      it('an unknown collection, a bad key, a bad op type', async () => {
        const nowhere = 'nowhere' as Collection;
        await expectTroupeError(
          store.batch([...good, { type: 'put', collection: nowhere, key: 'k', value: 1 }]),
          'INVALID_INPUT',
          'nowhere',
        );
        await expectTroupeError(
          store.batch([...good, { type: 'del', collection: 'meta', key: '' }]),
          'INVALID_INPUT',
          'key',
        );
        const weird = {
          type: 'merge',
          collection: 'meta',
          key: 'k',
        } as unknown as (typeof good)[1];
        await expectTroupeError(store.batch([...good, weird]), 'INVALID_INPUT', 'merge');
        await unchanged();
      });
    });

    it('del removes a key; deleting a missing key is fine', async () => {
      await put('jobs', 'job1', 1);
      await store.batch([
        { type: 'del', collection: 'jobs', key: 'job1' },
        { type: 'del', collection: 'jobs', key: 'never' },
      ]);
      expect(await store.get('jobs', 'job1')).toBeUndefined();
      expect(await keysOf('jobs')).toEqual([]);
    });

    describe('range', () => {
      beforeEach(async () => {
        // Inserted out of order on purpose.
        await store.batch(
          ['d', 'b', 'e', 'a', 'c'].map((key) => ({
            type: 'put' as const,
            collection: 'meta' as const,
            key,
            value: key.toUpperCase(),
          })),
        );
        await put('jobs', 'other', 1);
      });

      it('reads in key order, values included, one collection only', async () => {
        expect(await collect(store.range('meta'))).toEqual([
          ['a', 'A'],
          ['b', 'B'],
          ['c', 'C'],
          ['d', 'D'],
          ['e', 'E'],
        ]);
      });

      it('reads keys only when asked, in order, within the bounds', async () => {
        expect(await collect(store.range('meta', { gte: 'b', lt: 'e', keysOnly: true }))).toEqual([
          ['b', undefined],
          ['c', undefined],
          ['d', undefined],
        ]);
      });

      it('honours gt, gte, lt, lte', async () => {
        expect(await keysOf('meta', { gt: 'b' })).toEqual(['c', 'd', 'e']);
        expect(await keysOf('meta', { gte: 'b' })).toEqual(['b', 'c', 'd', 'e']);
        expect(await keysOf('meta', { lt: 'd' })).toEqual(['a', 'b', 'c']);
        expect(await keysOf('meta', { lte: 'd' })).toEqual(['a', 'b', 'c', 'd']);
        expect(await keysOf('meta', { gt: 'a', lte: 'c' })).toEqual(['b', 'c']);
        expect(await keysOf('meta', { gte: 'bb', lt: 'dd' })).toEqual(['c', 'd']);
        expect(await keysOf('meta', { gt: 'd', lt: 'b' })).toEqual([]);
        // Both bounds on one side: the stricter one applies.
        expect(await keysOf('meta', { gt: 'b', gte: 'b' })).toEqual(['c', 'd', 'e']);
        expect(await keysOf('meta', { gt: 'a', gte: 'c' })).toEqual(['c', 'd', 'e']);
        expect(await keysOf('meta', { lt: 'd', lte: 'd' })).toEqual(['a', 'b', 'c']);
      });

      it('honours reverse and limit', async () => {
        expect(await keysOf('meta', { reverse: true })).toEqual(['e', 'd', 'c', 'b', 'a']);
        expect(await keysOf('meta', { limit: 2 })).toEqual(['a', 'b']);
        expect(await keysOf('meta', { reverse: true, limit: 2 })).toEqual(['e', 'd']);
        expect(await keysOf('meta', { gt: 'a', lt: 'e', reverse: true, limit: 2 })).toEqual([
          'd',
          'c',
        ]);
        expect(await keysOf('meta', { limit: 0 })).toEqual([]);
        expect(await keysOf('meta', { limit: 99 })).toHaveLength(5);
        await expectTroupeError(keysOf('meta', { limit: -1 }), 'INVALID_INPUT', 'limit');
      });

      it('does not see writes made after iteration began', async () => {
        const seen: string[] = [];
        for await (const [key] of store.range('meta')) {
          if (key === 'a') await put('meta', 'zz', 1);
          seen.push(key);
        }
        expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
        expect(await store.get('meta', 'zz')).toBe(1);
      });
    });

    it('orders keys by code point, as LevelDB orders UTF-8 bytes', async () => {
      const keys = ['\u{1F600}', '\uFFFF', 'z', 'Z', 'a\u0000', 'a', '\u00E9'];
      await store.batch(keys.map((key) => ({ type: 'put', collection: 'meta', key, value: 1 })));
      expect(await keysOf('meta')).toEqual([
        'Z',
        'a',
        'a\u0000',
        'z',
        '\u00E9',
        '\uFFFF',
        '\u{1F600}',
      ]);
    });

    it('prefixRange selects only the children of one prefix', async () => {
      const keys = [
        'wf1',
        seqKey('wf1', 2),
        seqKey('wf1', 10),
        seqKey('wf1', 1),
        seqKey('wf10', 1),
        seqKey('wf0', 1),
        seqKey('wf2', 1),
        'wf1-x/0000000000000001',
        'wf1/\u{1F600}',
      ];
      await store.batch(
        keys.map((key) => ({ type: 'put', collection: 'journal', key, value: key })),
      );
      expect(await keysOf('journal', prefixRange('wf1'))).toEqual([
        seqKey('wf1', 1),
        seqKey('wf1', 2),
        seqKey('wf1', 10),
        'wf1/\u{1F600}',
      ]);
      const latest = await keysOf('journal', {
        ...prefixRange('wf1'),
        lt: 'wf1/a',
        reverse: true,
        limit: 1,
      });
      expect(latest.map(parseSeq)).toEqual([10]);
      expect(await keysOf('journal', prefixRange('wf10'))).toEqual([seqKey('wf10', 1)]);
    });

    it('agrees with a sorted model after interleaved puts and dels', async () => {
      // Deterministic pseudo-random numbers (LCG), so a failure reproduces.
      let state = 12345;
      const next = (n: number) => {
        state = (state * 1103515245 + 12345) % 2 ** 31;
        return state % n;
      };
      const model = new Set<string>();
      for (let round = 0; round < 6; round++) {
        const ops = Array.from({ length: 500 }, () => {
          const key = `${String.fromCharCode(97 + next(4))}${next(2000)}`;
          if (next(3) === 0) {
            model.delete(key);
            return { type: 'del' as const, collection: 'jobs' as const, key };
          }
          model.add(key);
          return { type: 'put' as const, collection: 'jobs' as const, key, value: key };
        });
        await store.batch(ops);
      }
      const sorted = [...model].sort(compareKeys);
      expect(await keysOf('jobs')).toEqual(sorted);
      for (let i = 0; i < 20; i++) {
        const [a, b] = [sorted[next(sorted.length)]!, sorted[next(sorted.length)]!].sort(
          compareKeys,
        );
        const limit = next(3) === 0 ? next(50) : undefined;
        const expected = sorted.filter(
          (key) => compareKeys(key, a!) > 0 && compareKeys(key, b!) <= 0,
        );
        expect(await keysOf('jobs', { gt: a, lte: b, limit })).toEqual(expected.slice(0, limit));
        expect(await keysOf('jobs', { gt: a, lte: b, limit, reverse: true })).toEqual(
          expected.reverse().slice(0, limit),
        );
      }
    });

    it('keeps a 10,000-key range ordered', async () => {
      const total = 10_000;
      // 7919 is prime, so i * 7919 mod total visits every seq once, out of order.
      const ops = Array.from({ length: total }, (_, i) => {
        const seq = (i * 7919) % total;
        return {
          type: 'put' as const,
          collection: 'journal' as const,
          key: seqKey('wf', seq),
          value: { seq },
        };
      });
      await store.batch(ops.slice(0, total / 2));
      await store.batch(ops.slice(total / 2));
      const entries = await collect(store.range<{ seq: number }>('journal', prefixRange('wf')));
      expect(entries).toHaveLength(total);
      // One comparison, not 20,000 expect() calls, keeps the test fast.
      const misplaced = entries.findIndex(
        ([key, value], index) => value.seq !== index || parseSeq(key) !== index,
      );
      expect(misplaced).toBe(-1);
      const window = await keysOf('journal', {
        gte: seqKey('wf', 4_000),
        lt: seqKey('wf', 4_010),
        reverse: true,
      });
      expect(window.map(parseSeq)).toEqual([
        4009, 4008, 4007, 4006, 4005, 4004, 4003, 4002, 4001, 4000,
      ]);
    });

    it('throws STORE_CLOSED after close; close is idempotent', async () => {
      await put('meta', 'k', 1);
      await store.close();
      await store.close();
      await expectTroupeError(store.get('meta', 'k'), 'STORE_CLOSED', 'close');
      await expectTroupeError(put('meta', 'k', 2), 'STORE_CLOSED', 'close');
      await expectTroupeError(keysOf('meta'), 'STORE_CLOSED', 'close');
    });
  });
}
