/** Every TroupeErrorCode has a `## CODE` section in docs/errors.md, and only those. */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

function codes(): string[] {
  const source = read('src/errors.ts');
  const union = /export type TroupeErrorCode\s*=([^;]*);/.exec(source)?.[1] ?? '';
  return [...union.matchAll(/'([A-Z0-9_]+)'/g)].map((m) => m[1] ?? '');
}

it('docs/errors.md has one section per error code, saying when it happens and what to do', () => {
  const all = codes();
  expect(all.length).toBeGreaterThan(20);
  const page = read('docs/errors.md');
  const sections = [...page.matchAll(/^## `?([A-Z0-9_]+)`?\s*$/gm)].map((m) => m[1]);
  expect(
    all.filter((code) => !sections.includes(code)),
    'codes without a section',
  ).toEqual([]);
  expect(
    sections.filter((s) => !all.includes(s ?? '')),
    'sections of no code',
  ).toEqual([]);
  expect(new Set(sections).size, 'each code once').toBe(sections.length);
  // Each section says what to do, not only what happened.
  for (const chunk of page.split(/^## /m).slice(1)) {
    const [title = '', ...body] = chunk.split('\n');
    expect(body.join('\n'), `${title}: what to do`).toMatch(
      /\*\*When\.\*\*[\s\S]*\*\*What to do\.\*\*/,
    );
  }
});
