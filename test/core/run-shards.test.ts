/**
 * Live runs are held by shard actors under the root (XState copies a parent's
 * children on every spawn and stop, so one parent of every run made starting
 * many runs quadratic), while each run keeps its global system id.
 */

import { describe, expect, it } from 'vitest';
import type { AnyActorRef } from 'xstate';
import { createRuntime, defineAgent } from '../../src/index.js';
import { workflowSystemId } from '../../src/machines/protocol.js';
import { RUN_SHARDS, runShardId } from '../../src/machines/run-shard.machine.js';
import { deferred } from './helpers.js';

const childrenOf = (ref: AnyActorRef) =>
  (ref.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children;

describe('run shards', () => {
  it('spreads workflow ids over every shard, none holding more than twice its share', () => {
    const counts = new Map<string, number>();
    const ids = 100 * RUN_SHARDS;
    for (let i = 0; i < ids; i++) {
      const shard = runShardId(`run-${i}`);
      counts.set(shard, (counts.get(shard) ?? 0) + 1);
    }
    expect(counts.size).toBe(RUN_SHARDS);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(200);
    expect(runShardId('run-7')).toBe(runShardId('run-7'));
  });

  it('live runs are children of their shard, found by their global system id, and stopped when they end', async () => {
    const rt = await createRuntime({ dataDir: false });
    const gate = deferred();
    rt.registerAgent(
      defineAgent({
        role: 'worker',
        concurrency: 50,
        run: async () => {
          await gate.promise;
          return 'done';
        },
      }),
    );
    try {
      const handles = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          rt.engine.start(
            { name: 'one', tasks: [{ id: 'only', agent: 'worker' }] },
            { workflowId: `wf-${i}` },
          ),
        ),
      );
      const root = rt.actor as unknown as AnyActorRef;
      const rootChildren = Object.keys(childrenOf(root));
      expect(rootChildren.filter((id) => id.startsWith('workflow:'))).toEqual([]);
      // Made as runs need them: one per shard some run hashes to, no more.
      const used = new Set(handles.map((h) => runShardId(h.workflowId)));
      expect(rootChildren.filter((id) => id.startsWith('runs:')).sort()).toEqual([...used].sort());
      for (const { workflowId } of handles) {
        const shard = childrenOf(root)[runShardId(workflowId)]!;
        const run = childrenOf(shard)[workflowSystemId(workflowId)];
        expect(run).toBeDefined();
        expect(rt.actor.system.get(workflowSystemId(workflowId))).toBe(run);
      }
      gate.resolve();
      const results = await Promise.all(handles.map((h) => h.result));
      expect(results.every((r) => r.success)).toBe(true);
      for (const { workflowId } of handles) {
        const shard = childrenOf(root)[runShardId(workflowId)]!;
        expect(childrenOf(shard)[workflowSystemId(workflowId)]).toBeUndefined();
        expect(rt.actor.system.get(workflowSystemId(workflowId))).toBeUndefined();
      }
    } finally {
      await rt.close();
    }
  });
});
