import { lstat, mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { TroupeError } from '../../../errors.js';

/** Options of {@link Workspace}. */
export interface WorkspaceOptions {
  /** The folder the tools work in; created on first use. */
  root: string;
  /** Most bytes `read_file` returns (the rest is cut, and the result says so); `search_files` skips larger files. @default 262144 (256 KiB) */
  maxReadBytes?: number;
  /** Most bytes one `write_file` may write; more is refused. @default 1048576 (1 MiB) */
  maxWriteBytes?: number;
  /** `search_files` stops after this long and returns what it found so far (`timedOut: true`). @default 10000 */
  searchTimeoutMs?: number;
  /** Programs `run_command` may start (exact names, e.g. `['node', 'npm']`); empty leaves the tool out. @default [] */
  allowedCommands?: readonly string[];
  /** A command still running after this is killed, with every process it started. @default 60000 */
  commandTimeoutMs?: number;
  /** Most bytes of stdout and of stderr kept from one command. @default 65536 */
  maxCommandOutputBytes?: number;
  /** Environment of commands besides PATH, HOME, LANG and TMPDIR (the rest of the process environment, API keys included, is not passed). @default {} */
  commandEnv?: Readonly<Record<string, string>>;
}

export type ResolvedWorkspaceOptions = Required<WorkspaceOptions>;

/** Why a path was refused; in the error's `context.reason`. */
export type PathRefusal = 'absolute' | 'parent' | 'symlink' | 'invalid';

/** A path inside the workspace: as the model wrote it, and where it really is. */
export interface WorkspacePath {
  /** Relative to the workspace root, with `/` separators; `.` for the root. */
  relative: string;
  /** Absolute, with every symlink resolved, inside the workspace's real root. */
  absolute: string;
}

/**
 * A folder that LLM tools may touch, and nothing outside it.
 *
 * Invariant: {@link resolve} returns only paths whose real location (after
 * resolving every symlink that exists) is the root or below it. Absolute
 * paths, `..` that climbs out, and symlinks that point out (including
 * dangling ones) are refused with a TroupeError `INVALID_INPUT` whose
 * `context.reason` says which rule applied. Paths are checked when a tool
 * runs, so a symlink created later is caught too; the check and the use are
 * separate system calls, so the workspace must not be shared with a process
 * that races to swap folders for symlinks.
 */
export class Workspace {
  readonly options: ResolvedWorkspaceOptions;
  private realRoot: Promise<string> | undefined;

  constructor(options: WorkspaceOptions | string) {
    const given = typeof options === 'string' ? { root: options } : options;
    this.options = {
      root: path.resolve(given.root),
      maxReadBytes: given.maxReadBytes ?? 256 * 1024,
      maxWriteBytes: given.maxWriteBytes ?? 1024 * 1024,
      searchTimeoutMs: given.searchTimeoutMs ?? 10_000,
      allowedCommands: [...(given.allowedCommands ?? [])],
      commandTimeoutMs: given.commandTimeoutMs ?? 60_000,
      maxCommandOutputBytes: given.maxCommandOutputBytes ?? 64 * 1024,
      commandEnv: { ...given.commandEnv },
    };
  }

  get root(): string {
    return this.options.root;
  }

  /** The root with symlinks resolved; the folder is created the first time. */
  async realRootPath(): Promise<string> {
    this.realRoot ??= mkdir(this.root, { recursive: true }).then(() => realpath(this.root));
    try {
      return await this.realRoot;
    } catch (error) {
      this.realRoot = undefined;
      throw new TroupeError(
        'CONFIG_ERROR',
        `Workspace ${this.root} cannot be created or read: ${(error as Error).message}`,
        { workspace: this.root },
        { cause: error },
      );
    }
  }

  /**
   * Resolves a path the model gave, relative to the root.
   * @param tool named in the error, so the model knows which call was refused
   * @throws TroupeError `INVALID_INPUT` if the path is absolute, climbs out, or passes through a symlink that leaves the workspace.
   */
  async resolve(input: string, tool: string): Promise<WorkspacePath> {
    const root = await this.realRootPath();
    if (typeof input !== 'string' || input.includes('\0')) {
      throw this.refuse(tool, String(input), 'invalid', 'is not a valid path');
    }
    const given = input.trim() === '' ? '.' : input;
    if (path.isAbsolute(given) || path.win32.isAbsolute(given)) {
      throw this.refuse(
        tool,
        given,
        'absolute',
        'is absolute; give a path relative to the workspace root',
      );
    }
    const lexical = path.resolve(root, given);
    if (!isInside(root, lexical)) {
      throw this.refuse(tool, given, 'parent', 'climbs out of the workspace with ".."');
    }
    const real = await realLocation(lexical);
    if (real === undefined || !isInside(root, real)) {
      throw this.refuse(
        tool,
        given,
        'symlink',
        real === undefined
          ? 'goes through a dangling symlink'
          : `goes through a symlink to ${real}, outside the workspace`,
      );
    }
    return { relative: toRelative(root, lexical), absolute: real };
  }

  /** The workspace-relative form of an absolute path inside it. */
  async relativeOf(absolute: string): Promise<string> {
    return toRelative(await this.realRootPath(), absolute);
  }

  private refuse(tool: string, given: string, reason: PathRefusal, why: string): TroupeError {
    return new TroupeError(
      'INVALID_INPUT',
      `${tool}: path ${JSON.stringify(given)} ${why}. Tools may only use paths inside the workspace ${this.root}.`,
      { path: given, workspace: this.root, reason },
    );
  }
}

/**
 * Where a path really is: the deepest part that exists is resolved with
 * realpath (following every symlink in it) and the parts that do not exist
 * yet are appended. Undefined for a dangling symlink, whose target could be
 * created anywhere by a write.
 */
async function realLocation(target: string): Promise<string | undefined> {
  const missing: string[] = [];
  let current = target;
  for (;;) {
    try {
      await lstat(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const parent = path.dirname(current);
      if (parent === current) return undefined;
      missing.unshift(path.basename(current));
      current = parent;
      continue;
    }
    try {
      return path.join(await realpath(current), ...missing);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

function toRelative(root: string, absolute: string): string {
  const rel = path.relative(root, absolute);
  return rel === '' ? '.' : rel.split(path.sep).join('/');
}
