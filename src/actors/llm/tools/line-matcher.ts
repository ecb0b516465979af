import { createRequire } from 'node:module';
import type { RE2 } from 're2-wasm';
import { TroupeError } from '../../../errors.js';

/** Longest pattern `search_files` compiles: RE2's cost per character grows with the pattern. */
export const MAX_PATTERN_CHARS = 500;
/**
 * Characters of each line a pattern is matched against. RE2 is linear in the
 * text, but its constant grows with the pattern (`(.*a){20}` costs about
 * 25 µs a character); a cap keeps one line's match to a few milliseconds
 * even in a minified file, so the search can yield between lines.
 */
export const MAX_PATTERN_LINE_CHARS = 2_000;

/** Tests lines; `dispose` frees what the engine holds outside the JS heap. */
export interface LineMatcher {
  test(line: string): boolean;
  dispose(): void;
}

/**
 * A matcher for `search_files`: plain text by default (`includes`), or an
 * RE2 pattern, which runs in time linear in the line whatever the pattern
 * (no backtracking, so `^(a+)+$` cannot explode). RE2 has no backreferences
 * or lookaround; such a pattern is refused like any invalid one.
 * @throws TroupeError `INVALID_INPUT` for an invalid or too long pattern, with the engine's reason.
 */
export function lineMatcher(query: string, regex: boolean, caseSensitive: boolean): LineMatcher {
  if (!regex) {
    const needle = caseSensitive ? query : query.toLowerCase();
    return {
      test: (line) => (caseSensitive ? line : line.toLowerCase()).includes(needle),
      dispose: () => undefined,
    };
  }
  if (query.length > MAX_PATTERN_CHARS) {
    throw new TroupeError(
      'INVALID_INPUT',
      `search_files: the pattern is ${query.length} characters long; at most ${MAX_PATTERN_CHARS} are allowed. Search for a shorter pattern.`,
      { issues: [`query: at most ${MAX_PATTERN_CHARS} characters with "regex": true`] },
    );
  }
  let pattern: Compiled;
  try {
    // RE2 only accepts the unicode flag; it is what makes \p{L} and friends work.
    pattern = compile(query, caseSensitive ? 'u' : 'iu');
  } catch (error) {
    throw new TroupeError(
      'INVALID_INPUT',
      `search_files: ${JSON.stringify(query)} is not a valid regular expression for RE2 (${(error as Error).message}). RE2 has no backreferences or lookaround; search for plain text with "regex": false.`,
      { query },
    );
  }
  return {
    test: (line) => pattern.regex.test(line.slice(0, MAX_PATTERN_LINE_CHARS)),
    dispose: () => pattern.native.delete(),
  };
}

interface NativePattern {
  delete(): void;
}

interface Compiled {
  regex: RE2;
  native: NativePattern;
}

/**
 * re2-wasm never frees a compiled pattern (an Emscripten object in a fixed
 * 16 MiB heap: a few thousand leaked ones, valid or not, abort the module),
 * and keeps it in a private `wrapper` field it assigns in its constructor,
 * even when it then throws for an invalid pattern. A subclass with a
 * `wrapper` setter catches it either way, so it can always be deleted.
 */
interface CapturingRE2 {
  new (pattern: string, flags: string): RE2;
  caught: NativePattern | undefined;
}

let capturingRE2: CapturingRE2 | undefined;

/**
 * The subclass, made when the first pattern is compiled: re2-wasm instantiates
 * its WebAssembly module when loaded, start-up time that programs whose agents
 * never search with a pattern should not pay. It is CommonJS, so `require`
 * loads it synchronously.
 */
function loadCapturingRE2(): CapturingRE2 {
  if (capturingRE2) return capturingRE2;
  const { RE2: Engine } = createRequire(import.meta.url)('re2-wasm') as typeof import('re2-wasm');
  class Capturing extends Engine {
    static caught: NativePattern | undefined;
  }
  Object.defineProperty(Capturing.prototype, 'wrapper', {
    set(this: object, native: NativePattern) {
      Object.defineProperty(this, 'wrapper', { value: native, writable: true });
      Capturing.caught = native;
    },
  });
  capturingRE2 = Capturing;
  return Capturing;
}

function compile(query: string, flags: string): Compiled {
  const Capturing = loadCapturingRE2();
  Capturing.caught = undefined;
  try {
    const regex = new Capturing(query, flags);
    return { regex, native: Capturing.caught! };
  } catch (error) {
    // Set by the constructor before it threw; the compiler cannot see that.
    (Capturing.caught as NativePattern | undefined)?.delete();
    throw error;
  } finally {
    Capturing.caught = undefined;
  }
}
