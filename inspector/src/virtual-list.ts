/**
 * A list that creates elements only for the rows in view, so 100,000
 * timeline events or 10,000 tasks cost the same to scroll as fifty. Rows
 * have one fixed height; a spacer gives the scrollbar its full length.
 */
import { h } from './dom.js';

/** Rows moved by each key that moves the focus within a list. */
const ROW_KEYS: Record<string, number> = {
  ArrowDown: 1,
  ArrowUp: -1,
  PageDown: 10,
  PageUp: -10,
};

export interface VirtualListOptions {
  rowHeight: number;
  /** Builds the element of row `index`. */
  render: (index: number) => HTMLElement;
  className?: string;
}

export class VirtualList {
  readonly element: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly rows: HTMLDivElement;
  private count = 0;
  /**
   * The scroll offset and viewport height as last seen (scroll events and a
   * ResizeObserver keep them). Reading them from the element in `update`
   * would force a layout of the whole page on each batch of a busy run.
   */
  private scrollTop = 0;
  private height = 0;
  private scrollPending = false;
  /** Keep the view at the end while new rows arrive, unless the user scrolled up. */
  follow = false;
  /** The row the keyboard was last on. */
  private current = 0;

  constructor(private readonly options: VirtualListOptions) {
    this.spacer = h('div', { class: 'vl-spacer' });
    this.rows = h('div', { class: 'vl-rows' });
    this.element = h('div', { class: `vl ${options.className ?? ''}` }, this.spacer, this.rows);
    this.element.addEventListener(
      'scroll',
      () => {
        if (this.element.scrollTop === this.scrollTop) return;
        this.scrollTop = this.element.scrollTop;
        this.draw();
      },
      { passive: true },
    );
    // One row is in the Tab order (the last one focused, else the first drawn), so Tab
    // passes the list in one step however many rows stream in; arrow keys move between rows.
    this.rows.addEventListener('focusin', (event) => {
      const at = (event.target as HTMLElement).dataset?.index;
      if (at !== undefined) this.current = Number(at);
    });
    this.element.addEventListener('keydown', (event) => {
      const step = ROW_KEYS[event.key];
      const at = (event.target as HTMLElement).dataset?.index;
      if (step === undefined || at === undefined) return;
      event.preventDefault();
      this.focusRow(Math.max(0, Math.min(this.count - 1, Number(at) + step)));
    });
    new ResizeObserver(() => {
      const height = this.element.clientHeight;
      if (height === this.height) return;
      const atEnd = this.atEnd();
      this.height = height;
      if (this.follow && atEnd) this.scrollTo(this.count * this.options.rowHeight);
      else this.scrollTop = this.element.scrollTop;
      this.draw();
    }).observe(this.element);
  }

  /** Sets the number of rows and redraws what is visible. */
  update(count: number): void {
    const { rowHeight } = this.options;
    const atEnd = this.atEnd();
    this.count = count;
    this.spacer.style.height = `${count * rowHeight}px`;
    // A row with the keyboard's focus holds the view: following would scroll it away.
    if (this.follow && atEnd && !this.rows.contains(document.activeElement)) {
      this.scrollTo(count * rowHeight);
    }
    this.draw();
  }

  /** Scrolls row `index` into view and focuses it. */
  private focusRow(index: number): void {
    const { rowHeight } = this.options;
    const height = this.height || this.element.clientHeight;
    const top = index * rowHeight;
    if (top < this.scrollTop) this.scrollTo(top);
    else if (top + rowHeight > this.scrollTop + height) this.scrollTo(top + rowHeight - height);
    this.draw();
    this.rows.querySelector<HTMLElement>(`[data-index="${index}"]`)?.focus({ preventScroll: true });
  }

  scrollToIndex(index: number): void {
    this.scrollTo(index * this.options.rowHeight - (this.height || this.element.clientHeight) / 2);
    this.draw();
  }

  /** Not laid out yet (nothing to scroll), or showing the last rows. */
  private atEnd(): boolean {
    const { rowHeight } = this.options;
    return this.height === 0 || this.scrollTop + this.height >= (this.count - 2) * rowHeight;
  }

  /**
   * Draws at `top` now and moves the scrollbar at the start of the next
   * frame: writing `scrollTop` right after the spacer grew would force a
   * layout of the page in the middle of this frame's changes; at the start
   * of the next one layout is clean and the write is cheap.
   */
  private scrollTo(top: number): void {
    const max = Math.max(0, this.count * this.options.rowHeight - this.height);
    this.scrollTop = Math.round(Math.min(max, Math.max(0, top)));
    if (this.scrollPending) return;
    this.scrollPending = true;
    requestAnimationFrame(() => {
      this.scrollPending = false;
      this.element.scrollTop = this.scrollTop;
    });
  }

  private draw(): void {
    const { rowHeight } = this.options;
    const height = this.height || 400;
    const first = Math.max(0, Math.floor(this.scrollTop / rowHeight) - 5);
    const last = Math.min(this.count, first + Math.ceil(height / rowHeight) + 10);
    // Rows are rebuilt on each draw: keep keyboard focus on the same row.
    const active = document.activeElement;
    const focused =
      active instanceof HTMLElement && this.rows.contains(active)
        ? Number(active.dataset.index)
        : -1;
    const out: HTMLElement[] = [];
    let refocus: HTMLElement | undefined;
    const tabStop = this.current >= first && this.current < last ? this.current : first;
    for (let i = first; i < last; i++) {
      const row = this.options.render(i);
      row.style.top = `${i * rowHeight}px`;
      row.style.height = `${rowHeight}px`;
      row.dataset.index = String(i);
      row.tabIndex = i === tabStop ? 0 : -1;
      if (i === focused) refocus = row;
      out.push(row);
    }
    this.rows.replaceChildren(...out);
    refocus?.focus({ preventScroll: true });
  }
}
