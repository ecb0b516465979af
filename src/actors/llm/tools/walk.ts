import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** Folders a recursive walk lists but does not enter: large, and rarely what a task is about. */
export const SKIPPED_DIRS: ReadonlySet<string> = new Set(['.git', 'node_modules']);

export interface WalkEntry {
  /** Absolute path. */
  absolute: string;
  dirent: Dirent;
}

/**
 * Entries under a folder in name order, depth first. Symlinks are reported,
 * never followed, so a walk cannot leave the folder it started in.
 */
export async function* walk(dir: string, recursive: boolean): AsyncGenerator<WalkEntry> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const dirent of entries) {
    const absolute = path.join(dir, dirent.name);
    yield { absolute, dirent };
    if (recursive && dirent.isDirectory() && !SKIPPED_DIRS.has(dirent.name)) {
      yield* walk(absolute, true);
    }
  }
}
