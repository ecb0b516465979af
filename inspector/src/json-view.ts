/**
 * A JSON value as a tree that folds: objects and arrays are `<details>`
 * elements (keyboard and screen reader friendly for free), open to a
 * depth, with their size in the summary. Text only, never markup.
 */
import type { JsonPreview } from '../../src/runtime/inspector/protocol.js';
import { h } from './dom.js';

export function jsonView(value: JsonPreview | undefined, openDepth = 2): HTMLElement {
  return h(
    'div',
    { class: 'json-view', 'data-testid': 'json-view' },
    node(value ?? null, openDepth, 0),
  );
}

function node(value: JsonPreview, openDepth: number, depth: number): HTMLElement {
  if (value === null || typeof value !== 'object') return scalar(value);
  const entries: [string, JsonPreview][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  const size = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  if (entries.length === 0)
    return h('span', { class: 'j-empty' }, Array.isArray(value) ? '[]' : '{}');
  const details = h(
    'details',
    { class: 'j-node' },
    h('summary', {}, h('span', { class: 'j-size' }, size)),
    h(
      'ul',
      {},
      ...entries.map(([key, child]) =>
        h('li', {}, h('span', { class: 'j-key' }, `${key}: `), node(child, openDepth, depth + 1)),
      ),
    ),
  );
  details.open = depth < openDepth;
  return details;
}

function scalar(value: null | boolean | number | string): HTMLElement {
  const kind = value === null ? 'null' : typeof value;
  return h(
    'span',
    { class: `j-${kind}` },
    typeof value === 'string' ? JSON.stringify(value) : String(value),
  );
}
