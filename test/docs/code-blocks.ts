/**
 * Turns the ```ts blocks of a Markdown page into one TypeScript module.
 *
 * A page reads top to bottom, so each block sees what the blocks above it on
 * the same page declared: block N is nested in block N-1's scope (a name
 * declared again shadows the earlier one). Imports are hoisted to the top and
 * merged. A block opts out only with a visible ```ts ignore fence.
 */

export interface Block {
  /** 1-based line of the first code line in the page. */
  line: number;
  code: string[];
}

/** The ```ts (or ```typescript) blocks of a page, without ```ts ignore ones. */
export function tsBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let current: Block | undefined;
  let inOther = false;
  let fence = '';
  lines.forEach((text, i) => {
    const open = /^(\s*)(`{3,})(\S*)\s*(.*)$/.exec(text);
    if (current) {
      if (open && open[2] === fence && !open[3]) {
        blocks.push(dedent(current));
        current = undefined;
      } else current.code.push(text);
      return;
    }
    if (inOther) {
      if (open && open[2] === fence && !open[3]) inOther = false;
      return;
    }
    if (!open) return;
    fence = open[2] ?? '```';
    const lang = open[3] ?? '';
    if ((lang === 'ts' || lang === 'typescript') && !/\bignore\b/.test(open[4] ?? '')) {
      current = { line: i + 2, code: [] };
    } else inOther = true;
  });
  return blocks;
}

/** Blocks inside list items are indented; their code is not. */
function dedent(block: Block): Block {
  const indents = block.code.filter((l) => l.trim()).map((l) => /^\s*/.exec(l)?.[0].length ?? 0);
  const cut = Math.min(...indents, Number.MAX_SAFE_INTEGER);
  return { line: block.line, code: block.code.map((l) => l.slice(cut)) };
}

interface Import {
  /** The module specifier. */
  from: string;
  /** `{ a, type B, c as d }` entries. */
  named: string[];
  /** Default or namespace clause, e.g. `OpenAI` or `* as fs`. */
  clause?: string;
  /** Where it came from, for error messages. */
  origin: number;
}

export interface Module {
  text: string;
  /** For each line of `text` (0-based), the page line it came from, or 0. */
  origins: number[];
}

/** One module for the page's blocks: merged imports, then the nested blocks. */
export function pageModule(blocks: Block[]): Module {
  const imports: Import[] = [];
  const body: { text: string; origin: number }[] = [];
  for (const block of blocks) {
    body.push({ text: '{', origin: 0 });
    let statement: { text: string; origin: number } | undefined;
    block.code.forEach((text, i) => {
      const origin = block.line + i;
      if (statement) {
        statement.text += ` ${text.trim()}`;
        if (/\bfrom\s+['"][^'"]+['"]/.test(text)) {
          imports.push(parseImport(statement.text, statement.origin));
          statement = undefined;
        }
        return;
      }
      if (/^import\s/.test(text)) {
        if (/\bfrom\s+['"][^'"]+['"]|^import\s+['"]/.test(text))
          imports.push(parseImport(text, origin));
        else statement = { text, origin };
        return;
      }
      body.push({ text, origin });
    });
  }
  for (const _ of blocks) body.push({ text: '}', origin: 0 });
  const head = mergeImports(imports);
  const all = [...head, ...body, { text: 'export {};', origin: 0 }];
  return { text: all.map((l) => l.text).join('\n'), origins: all.map((l) => l.origin) };
}

function parseImport(text: string, origin: number): Import {
  const from =
    /from\s+['"]([^'"]+)['"]/.exec(text)?.[1] ?? /^import\s+['"]([^'"]+)['"]/.exec(text)?.[1] ?? '';
  const named = /\{([^}]*)\}/.exec(text)?.[1];
  const clause = /^import\s+(?:type\s+)?([^{'"]+?)\s*(?:,|from)/.exec(text)?.[1]?.trim();
  const typeOnly = /^import\s+type\s/.test(text);
  return {
    from,
    named: (named ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => (typeOnly && !s.startsWith('type ') ? `type ${s}` : s)),
    ...(clause ? { clause } : {}),
    origin,
  };
}

function mergeImports(imports: Import[]): { text: string; origin: number }[] {
  const out: { text: string; origin: number }[] = [];
  const byModule = new Map<string, { named: Map<string, string>; origin: number }>();
  const clauses = new Set<string>();
  for (const imp of imports) {
    if (imp.clause && !clauses.has(`${imp.clause} ${imp.from}`)) {
      clauses.add(`${imp.clause} ${imp.from}`);
      out.push({ text: `import ${imp.clause} from '${imp.from}';`, origin: imp.origin });
    }
    const entry = byModule.get(imp.from) ?? {
      named: new Map<string, string>(),
      origin: imp.origin,
    };
    byModule.set(imp.from, entry);
    for (const spec of imp.named) {
      const local =
        spec
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)
          .at(-1) ?? spec;
      // A value import wins over a type-only import of the same name.
      if (!entry.named.has(local) || entry.named.get(local)?.startsWith('type ')) {
        entry.named.set(local, spec);
      }
    }
    if (!imp.clause && imp.named.length === 0) {
      out.push({ text: `import '${imp.from}';`, origin: imp.origin });
    }
  }
  for (const [from, { named, origin }] of byModule) {
    if (named.size > 0) {
      out.push({ text: `import { ${[...named.values()].join(', ')} } from '${from}';`, origin });
    }
  }
  return out;
}
