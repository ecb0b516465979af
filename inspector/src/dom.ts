/**
 * The page's only way to make elements. Text from the runtime (task names,
 * outputs, event payloads) only ever becomes text nodes or attribute values,
 * never markup, so nothing a task prints can inject HTML. There is no
 * `innerHTML` anywhere in the page.
 */
type AttrValue = string | number | boolean | undefined | null;
type Handler = (event: Event) => void;
export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, AttrValue | Handler> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, AttrValue | Handler> = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el: Element, attrs: Record<string, AttrValue | Handler>): void {
  for (const [key, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(key, '');
    else if (value !== undefined && value !== null && value !== false) {
      el.setAttribute(key, String(value));
    }
  }
}

function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces an element's children. Views redraw this way on every batch, so
 * the keyboard's place survives: when the focus was inside, it moves to the
 * new element that carries the same name (see FOCUS_KEYS), or, when that
 * one is now disabled (Pause once paused), to the first enabled control
 * beside it (Resume).
 */
export function fill(el: Element, ...children: Child[]): void {
  const focused = document.activeElement;
  const refocus = focused && focused !== el && el.contains(focused) ? focusKey(focused) : undefined;
  el.replaceChildren();
  append(el, children);
  if (refocus) restoreFocus(el, refocus);
}

/** Attributes that name a control the same way across redraws. */
const FOCUS_KEYS = [
  'id',
  'data-action',
  'data-actor',
  'data-workflow-id',
  'data-answer',
  'data-seq',
  'data-fork',
  'data-task-row',
  'aria-label',
];

/** A selector for the element that takes `focused`'s place after a redraw, if it has a name. */
function focusKey(focused: Element): string | undefined {
  const named = FOCUS_KEYS.filter((name) => focused.hasAttribute(name)).map(
    (name) => `[${name}="${CSS.escape(focused.getAttribute(name) ?? '')}"]`,
  );
  return named.length ? `${focused.localName}${named.join('')}` : undefined;
}

function restoreFocus(el: Element, selector: string): void {
  const next = el.querySelector<HTMLElement>(selector);
  if (!next) return;
  const target = next.matches(':disabled')
    ? next.parentElement?.querySelector<HTMLElement>(
        'button:enabled, input:enabled, textarea:enabled, select:enabled',
      )
    : next;
  target?.focus({ preventScroll: true });
}

export function formatTime(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatDuration(start: number | undefined, end: number | undefined): string {
  if (start === undefined || end === undefined) return '';
  const ms = end - start;
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/**
 * How often views fed by a busy run (the timeline, the run's table and
 * header, the actor tree) redraw at most. Every redraw rebuilds rows and
 * costs the page a style and layout pass; five a second reads as live and
 * leaves the frames in between free for scrolling, zooming and typing.
 */
export const STREAM_REDRAW_MS = 200;
/**
 * The gap for the biggest runs. A redraw's cost grows with the run (status
 * counts over every task, a group of 10,000 counted, more rows changed), so
 * the gap grows with it: a run of n tasks redraws every n / 10 ms, from
 * {@link STREAM_REDRAW_MS} up to once a second at 10,000 tasks. The page's
 * share of the CPU then stays about the same whatever the run's size,
 * which is what leaves a watched run its speed on a small machine.
 */
export const MAX_STREAM_REDRAW_MS = 1_000;

let streamGapMs = STREAM_REDRAW_MS;

/** The redraw gap of the stream views now ({@link MAX_STREAM_REDRAW_MS}). */
export function streamRedrawMs(): number {
  return streamGapMs;
}

/** A run of `tasks` tasks is shown: sets the stream views' redraw gap. */
export function streamRunSize(tasks: number): void {
  streamGapMs = Math.min(MAX_STREAM_REDRAW_MS, Math.max(STREAM_REDRAW_MS, Math.round(tasks / 10)));
}

/**
 * Calls `fn` at most once per animation frame, however often it is asked,
 * and, with `minGapMs` (a number, or a function read at each frame), at
 * most once per `minGapMs` slot of the page's clock
 * (a request in between is kept and runs in the first frame of the next
 * slot). The slots are the same for every view, so views fed by one stream
 * redraw in the same frame: one style, layout and paint pass, not one per
 * view at its own moment. Until the next slot a timer waits, not a chain of
 * animation frames: a frame asked for makes the browser run its whole
 * frame pipeline, dozens of times a second for nothing. An
 * `urgent` request (something new to show, not more of a stream) runs in
 * the next frame whatever the gap.
 */
export function perFrame(
  fn: () => void,
  minGapMs: number | (() => number) = 0,
): (urgent?: boolean) => void {
  let pending = false;
  let urgentAsked = false;
  let frameAsked = false;
  let waiting: ReturnType<typeof setTimeout> | undefined;
  let last = Number.NEGATIVE_INFINITY;
  const askFrame = () => {
    if (frameAsked) return;
    frameAsked = true;
    requestAnimationFrame(run);
  };
  const run = (now: number) => {
    frameAsked = false;
    const gap = typeof minGapMs === 'number' ? minGapMs : minGapMs();
    if (!urgentAsked && gap > 0 && slot(now, gap) === slot(last, gap)) {
      waiting = setTimeout(
        () => {
          waiting = undefined;
          askFrame();
        },
        (slot(now, gap) + 1) * gap - now,
      );
      return;
    }
    pending = false;
    urgentAsked = false;
    last = now;
    fn();
  };
  return (urgent = false) => {
    if (urgent) {
      urgentAsked = true;
      if (waiting !== undefined) {
        clearTimeout(waiting);
        waiting = undefined;
        askFrame();
      }
    }
    if (pending) return;
    pending = true;
    askFrame();
  };
}

function slot(now: number, ms: number): number {
  return Math.floor(now / ms);
}
