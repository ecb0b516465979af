/**
 * Bytes allocated while a function runs, garbage included, with the top
 * allocation sites: V8's sampling heap profiler keeping the samples of
 * objects the GC has already collected.
 */
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

export interface Allocations {
  bytes: number;
  /** The sites that allocated most, `function file:line`, with their bytes. */
  top: { site: string; bytes: number }[];
}

export async function measureAllocations(fn: () => Promise<unknown>): Promise<Allocations> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  await fn();
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as {
    profile: { head: ProfileNode };
  };
  session.disconnect();
  const sites = new Map<string, number>();
  let bytes = 0;
  const walk = (node: ProfileNode) => {
    bytes += node.selfSize;
    if (node.selfSize > 0) {
      const { functionName, url, lineNumber } = node.callFrame;
      const site = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
      sites.set(site, (sites.get(site) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  const top = [...sites]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([site, siteBytes]) => ({ site, bytes: siteBytes }));
  return { bytes, top };
}
