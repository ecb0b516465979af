/**
 * Finding JSON in what a model wrote. Models without structured output (or
 * told to answer with JSON) still wrap it: in a Markdown fence, after a
 * sentence of prose, after a `<think>` block of reasoning. These helpers find
 * the JSON values in such text, in the order they appear.
 */

/** A JSON value found in text, and where: the whole answer, a fence, or a `{...}` in prose. */
export interface FoundJson {
  value: unknown;
  /** `whole`: the text was only JSON; `fence`: inside ```...```; `prose`: a balanced `{...}` or `[...]` among other text. */
  where: 'whole' | 'fence' | 'prose';
  /** The JSON text as found. */
  text: string;
}

const THINK = /<(think|thinking|reasoning)>[\s\S]*?(<\/\1>|$)/gi;
const FENCE = /```[A-Za-z_-]*[ \t]*\r?\n?([\s\S]*?)```/g;

/** The text without reasoning blocks (`<think>...</think>`, also unclosed ones that run to the end). */
export function withoutReasoning(text: string): string {
  return text.replace(THINK, '').trim();
}

/**
 * Every JSON object or array in the text, reasoning blocks removed: the whole
 * text if it parses, else each fenced block that parses, else each balanced
 * `{...}` or `[...]` that parses, in order.
 */
export function findJson(text: string): FoundJson[] {
  const visible = withoutReasoning(text);
  const whole = tryParse(visible);
  if (whole !== undefined) return [{ value: whole, where: 'whole', text: visible }];
  const fenced: FoundJson[] = [];
  for (const match of visible.matchAll(FENCE)) {
    const inner = match[1]!.trim();
    const value = tryParse(inner);
    if (value !== undefined) fenced.push({ value, where: 'fence', text: inner });
  }
  if (fenced.length > 0) return fenced;
  return balancedValues(visible);
}

/** The first JSON object or array in the text, or undefined. */
export function firstJson(text: string): FoundJson | undefined {
  return findJson(text)[0];
}

function tryParse(text: string): unknown {
  const start = text.trimStart()[0];
  if (start !== '{' && start !== '[') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Scans for `{` / `[` and its matching close (skipping strings), keeping those that parse. */
function balancedValues(text: string): FoundJson[] {
  const found: FoundJson[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch !== '{' && ch !== '[') {
      i++;
      continue;
    }
    const end = matchingClose(text, i);
    if (end === -1) {
      i++;
      continue;
    }
    const candidate = text.slice(i, end + 1);
    const value = tryParse(candidate);
    if (value === undefined) {
      i++;
      continue;
    }
    found.push({ value, where: 'prose', text: candidate });
    i = end + 1;
  }
  return found;
}

function matchingClose(text: string, start: number): number {
  const stack: string[] = [];
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') stack.push('}');
    else if (ch === '[') stack.push(']');
    else if (ch === '}' || ch === ']') {
      if (stack.pop() !== ch) return -1;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
