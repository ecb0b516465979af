import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export interface ScannedFile {
  /** Relative to the scanned root, with `/` separators. */
  path: string;
  bytes: number;
  extension: string;
}

/** Folders never worth scanning: dependencies, build output, VCS and troupe's own data. */
const SKIPPED_DIRS = new Set([
  '.git',
  'node_modules',
  'dist',
  'build',
  'coverage',
  '.troupe',
  '.next',
  'target',
  '__pycache__',
  '.venv',
]);
/** Larger files are listed but not read. */
export const MAX_READ_BYTES = 1024 * 1024;

/** Lists regular files under `root`, depth first, in name order (stable output). */
export async function listFiles(
  root: string,
  options: { skip?: readonly string[]; signal?: AbortSignal } = {},
): Promise<ScannedFile[]> {
  const skipped = new Set([...SKIPPED_DIRS, ...(options.skip ?? [])]);
  const files: ScannedFile[] = [];
  const walk = async (dir: string) => {
    options.signal?.throwIfAborted();
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!skipped.has(entry.name) && !skipped.has(path.resolve(full))) await walk(full);
      } else if (entry.isFile()) {
        const { size } = await stat(full);
        files.push({
          path: path.relative(root, full).split(path.sep).join('/'),
          bytes: size,
          extension: path.extname(entry.name),
        });
      }
    }
  };
  await walk(root);
  return files;
}
