import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TroupeError } from '../src/errors.js';
import {
  decodeRecord,
  encodeRecord,
  LevelStore,
  MemoryStore,
  messageKey,
  parseSeq,
  prefixRange,
  seqKey,
  workflowSeqKey,
} from '../src/store/index.js';
import { describeStoreConformance, expectTroupeError } from './store/conformance.js';

const run = promisify(execFile);
const projectRoot = fileURLToPath(new URL('..', import.meta.url));

const tempDir = () => mkdtemp(join(tmpdir(), 'troupe-store-'));

describeStoreConformance('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
});

describeStoreConformance('LevelStore', async () => {
  const dir = await tempDir();
  const store = await LevelStore.open(dir);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('store keys', () => {
  it('pads sequence numbers to 16 digits and parses them back', () => {
    expect(seqKey('wf1', 42)).toBe('wf1/0000000000000042');
    expect(parseSeq(seqKey('wf1', Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(messageKey(undefined, 1)).toBe('_/0000000000000001');
    expect(prefixRange('wf1')).toEqual({ gt: 'wf1/', lt: 'wf10' });
    expect(() => parseSeq('wf1')).toThrow(TroupeError);
    expect(() => seqKey('wf1', -1)).toThrow(/non-negative/);
    expect(() => seqKey('wf1', 1.5)).toThrow(/non-negative/);
  });

  it("rejects ids containing '/' with INVALID_INPUT", () => {
    for (const build of [
      () => workflowSeqKey('a/b', 1),
      () => prefixRange('a/b'),
      () => seqKey('', 1),
    ]) {
      try {
        build();
        expect.unreachable();
      } catch (error) {
        expect((error as TroupeError).code).toBe('INVALID_INPUT');
      }
    }
    expect(() => workflowSeqKey('a/b', 1)).toThrow(/must not contain '\/'/);
  });
});

describe('store records', () => {
  it('wraps values in a versioned envelope', () => {
    const raw = encodeRecord('workflows', 'wf1', { a: [1] });
    expect(JSON.parse(raw)).toEqual({ v: 1, data: { a: [1] } });
    expect(decodeRecord('workflows', 'wf1', raw)).toEqual({ a: [1] });
  });

  it('refuses a non-envelope or a newer version with STORE_CORRUPT naming the record', () => {
    const cases = [
      'nope',
      '42',
      '[]',
      '{"data":1}',
      '{"v":"1","data":1}',
      '{"v":1}',
      '{"v":0,"data":1}',
    ];
    for (const raw of cases) {
      const error = catchError(() => decodeRecord('journal', 'wf9/0000000000000003', raw));
      expect(error.code, raw).toBe('STORE_CORRUPT');
      expect(error.message).toContain('wf9/0000000000000003');
      expect(error.message).toContain("'journal'");
      expect(error.context).toEqual({
        collection: 'journal',
        key: 'wf9/0000000000000003',
        workflowId: 'wf9',
      });
    }
    const newer = catchError(() => decodeRecord('jobs', 'job1', '{"v":2,"data":1}'));
    expect(newer.code).toBe('STORE_CORRUPT');
    expect(newer.message).toMatch(/v2 by a newer troupe/);
    expect(newer.context).toMatchObject({ collection: 'jobs', key: 'job1' });
    expect(newer.context.workflowId).toBeUndefined();
  });
});

function catchError(action: () => unknown): TroupeError {
  try {
    action();
  } catch (error) {
    if (error instanceof TroupeError) return error;
    throw error;
  }
  throw new Error('expected a TroupeError');
}

describe('LevelStore', () => {
  let dir: string;
  let store: LevelStore | undefined;

  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps data across close and reopen', async () => {
    store = await LevelStore.open(dir);
    await store.batch([
      { type: 'put', collection: 'workflows', key: 'wf1', value: { status: 'paused' } },
      {
        type: 'put',
        collection: 'journal',
        key: seqKey('wf1', 1),
        value: { type: 'task.completed' },
      },
    ]);
    await store.close();
    store = await LevelStore.open(dir);
    expect(await store.get('workflows', 'wf1')).toEqual({ status: 'paused' });
    expect(await store.get('journal', seqKey('wf1', 1))).toEqual({ type: 'task.completed' });
  });

  it('records its owner in owner.json while open', async () => {
    store = await LevelStore.open(dir);
    const owner = JSON.parse(await readFile(join(dir, 'owner.json'), 'utf8'));
    expect(owner).toMatchObject({ pid: process.pid, hostname: hostname() });
    expect(Number.isNaN(Date.parse(owner.startedAt))).toBe(false);
    await store.close();
    await expect(readFile(join(dir, 'owner.json'), 'utf8')).rejects.toThrow();
  });

  it('reports a corrupt record by key and workflow; other records still read', async () => {
    store = await LevelStore.open(dir);
    const good = workflowSeqKey('wf-good', 1);
    const bad = workflowSeqKey('wf-bad', 1);
    await store.batch([
      { type: 'put', collection: 'snapshots', key: good, value: { ok: true } },
      { type: 'put', collection: 'workflows', key: 'wf-good', value: { ok: true } },
    ]);
    await store.close();

    // Write behind the store's back, as a damaged disk or a foreign writer would.
    const raw = new Level(join(dir, 'db'), { valueEncoding: 'utf8' });
    await raw.sublevel('snapshots').put(bad, '{"status":"running"}');
    await raw.sublevel('workflows').put('wf-bad', 'not json');
    await raw.close();

    const opened = await LevelStore.open(dir);
    store = opened;
    const error = await expectTroupeError(
      opened.get('snapshots', bad),
      'STORE_CORRUPT',
      bad,
      'wf-bad',
    );
    expect(error.context).toEqual({ collection: 'snapshots', key: bad, workflowId: 'wf-bad' });
    await expectTroupeError(opened.get('workflows', 'wf-bad'), 'STORE_CORRUPT', 'wf-bad', 'JSON');
    expect(await opened.get('snapshots', good)).toEqual({ ok: true });
    expect(await opened.get('workflows', 'wf-good')).toEqual({ ok: true });

    // A range yields the good entries before the bad one, then names it.
    const seen: string[] = [];
    const reading = (async () => {
      for await (const [key] of opened.range('snapshots', { reverse: true })) seen.push(key);
    })();
    await expectTroupeError(reading, 'STORE_CORRUPT', bad);
    expect(seen).toEqual([good]);
  });

  it('gives STORE_LOCKED to a second process, naming the folder and this process', async () => {
    store = await LevelStore.open(dir);
    const fixture = join(projectRoot, 'test', 'fixtures', 'open-store.ts');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', fixture, dir], {
      cwd: projectRoot,
    });
    const result = JSON.parse(stdout.trim()) as { ok: boolean; code?: string; message?: string };
    expect(result.ok).toBe(false);
    expect(result.code).toBe('STORE_LOCKED');
    expect(result.message).toContain(dir);
    expect(result.message).toContain(`process ${process.pid}`);
    expect(result.message).toContain(hostname());
    expect(result.message).toMatch(/Close that process, or pass a different dataDir/);
    // The data is untouched and still ours.
    await store.batch([{ type: 'put', collection: 'meta', key: 'k', value: 1 }]);
    expect(await store.get('meta', 'k')).toBe(1);
  });

  it('gives STORE_LOCKED to a second open in the same process too', async () => {
    store = await LevelStore.open(dir);
    await expectTroupeError(LevelStore.open(dir), 'STORE_LOCKED', dir, `process ${process.pid}`);
  });

  it('gives CONFIG_ERROR when the data folder cannot be created', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    await expectTroupeError(LevelStore.open(file), 'CONFIG_ERROR', file);
  });
});
