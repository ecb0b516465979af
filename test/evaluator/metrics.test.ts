import { describe, expect, it } from 'vitest';
import { sparkline, table } from '../../src/actors/evaluator/chart.js';
import { longestPath } from '../../src/actors/evaluator/critical-path.js';
import { formatDuration, formatPercent } from '../../src/actors/evaluator/format.js';
import { computeMetrics, peakOverlap, percentile } from '../../src/actors/evaluator/metrics.js';
import { buildRun } from './fixtures.js';

describe('metrics', () => {
  it('takes the nearest-rank percentile', () => {
    expect(percentile([], 0.95)).toBeNull();
    expect(percentile([5], 0.95)).toBe(5);
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(hundred, 0.95)).toBe(95);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
  });

  it('counts peak overlap without counting touching or zero-length tasks twice', () => {
    const at = (startedAt: number, finishedAt: number) => ({
      taskId: `${startedAt}-${finishedAt}`,
      startedAt,
      finishedAt,
      durationMs: finishedAt - startedAt,
    });
    expect(peakOverlap([at(0, 10), at(10, 20)])).toBe(1);
    expect(peakOverlap([at(0, 10), at(5, 20), at(6, 7)])).toBe(3);
    expect(peakOverlap([at(0, 10), at(5, 5)])).toBe(1);
    expect(peakOverlap([])).toBe(0);
  });

  it('finds the longest weighted path, deterministically and without looping on a cycle', () => {
    const deps = new Map([
      ['a', []],
      ['b', ['a']],
      ['c', ['a']],
      ['d', ['b', 'c']],
    ]);
    const weights: Record<string, number> = { a: 1, b: 5, c: 5, d: 1 };
    expect(longestPath(['a', 'b', 'c', 'd'], deps, (id) => weights[id]!)).toEqual({
      path: ['a', 'b', 'd'],
      lengthMs: 7,
    });
    const cyclic = new Map([
      ['x', ['y']],
      ['y', ['x']],
    ]);
    expect(longestPath(['x', 'y'], cyclic, () => 2).lengthMs).toBe(4);
  });

  it('walks a chain of 50,000 tasks without overflowing the stack', () => {
    const ids = Array.from({ length: 50_000 }, (_, i) => `t${i}`);
    const deps = new Map(ids.map((id, i) => [id, i > 0 ? [ids[i - 1]!] : []]));
    const path = longestPath([...ids].reverse(), deps, () => 1);
    expect(path.lengthMs).toBe(50_000);
    expect(path.path[0]).toBe('t0');
  });

  it('infers a chain from timing that never exceeds the wall time of a parallel run', () => {
    const { result } = buildRun({
      tasks: [
        { id: 'a', start: 0, duration: 300 },
        { id: 'b', start: 0, duration: 300 },
        { id: 'c', start: 0, duration: 300 },
        { id: 'd', start: 300, duration: 100 },
      ],
    });
    const metrics = computeMetrics({ result, timingResolutionMs: 50 });
    expect(metrics.performance.criticalPathMs).toBe(400);
    expect(metrics.performance.criticalPath).toEqual(['a', 'd']);
    expect(metrics.performance.criticalPathRatio).toBe(1);
    expect(metrics.performance.peakConcurrency).toBe(3);
  });

  it('leaves skipped tasks out of the success rate and notes tasks missing from the definition', () => {
    const run = buildRun({
      tasks: [
        { id: 'a', start: 0 },
        { id: 'b', status: 'skipped' },
        { id: 'c', start: 100, status: 'cancelled', attempts: 1 },
      ],
      success: false,
    });
    const definition = { ...run.definition, tasks: run.definition.tasks.slice(0, 2) };
    const metrics = computeMetrics({ result: run.result, definition, timingResolutionMs: 50 });
    expect(metrics.performance.successRate).toBe(0.5);
    expect(metrics.performance.skippedTasks).toBe(1);
    expect(metrics.firstAttemptRate).toBe(1);
    expect(metrics.notes[0]).toContain('"c" are not in the definition');
  });

  it('formats durations, percentages, sparklines and tables for the report', () => {
    expect(formatDuration(450)).toBe('450 ms');
    expect(formatDuration(1250)).toBe('1.25 s');
    expect(formatDuration(12_500)).toBe('12.5 s');
    expect(formatDuration(123_000)).toBe('2m 03s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(0.8534)).toBe('85.3%');
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([3, 3, 3])).toBe('▄▄▄');
    expect(
      table([
        ['A', 'BB'],
        ['ccc', 'd'],
      ]),
    ).toEqual(['A    BB', 'ccc  d']);
  });
});
