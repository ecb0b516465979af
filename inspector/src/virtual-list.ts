/**
 * A list that creates elements only for the rows in view, so 100,000
 * timeline events or 10,000 tasks cost the same to scroll as fifty. Rows
 * have one fixed height; a spacer gives the scrollbar its full length.
 */
import { h } from './dom.js';

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
  /** Keep the view at the end while new rows arrive, unless the user scrolled up. */
  follow = false;

  constructor(private readonly options: VirtualListOptions) {
    this.spacer = h('div', { class: 'vl-spacer' });
    this.rows = h('div', { class: 'vl-rows' });
    this.element = h('div', { class: `vl ${options.className ?? ''}` }, this.spacer, this.rows);
    this.element.addEventListener('scroll', () => this.draw(), { passive: true });
  }

  /** Sets the number of rows and redraws what is visible. */
  update(count: number): void {
    const atEnd =
      this.element.scrollTop + this.element.clientHeight >=
      this.element.scrollHeight - this.options.rowHeight * 2;
    this.count = count;
    this.spacer.style.height = `${count * this.options.rowHeight}px`;
    if (this.follow && atEnd) this.element.scrollTop = this.element.scrollHeight;
    this.draw();
  }

  scrollToIndex(index: number): void {
    this.element.scrollTop = Math.max(
      0,
      index * this.options.rowHeight - this.element.clientHeight / 2,
    );
    this.draw();
  }

  private draw(): void {
    const { rowHeight } = this.options;
    const height = this.element.clientHeight || 400;
    const first = Math.max(0, Math.floor(this.element.scrollTop / rowHeight) - 5);
    const last = Math.min(this.count, first + Math.ceil(height / rowHeight) + 10);
    // Rows are rebuilt on each draw: keep keyboard focus on the same row.
    const active = document.activeElement;
    const focused =
      active instanceof HTMLElement && this.rows.contains(active)
        ? Number(active.dataset.index)
        : -1;
    const out: HTMLElement[] = [];
    let refocus: HTMLElement | undefined;
    for (let i = first; i < last; i++) {
      const row = this.options.render(i);
      row.style.top = `${i * rowHeight}px`;
      row.style.height = `${rowHeight}px`;
      row.dataset.index = String(i);
      if (i === focused) refocus = row;
      out.push(row);
    }
    this.rows.replaceChildren(...out);
    refocus?.focus({ preventScroll: true });
  }
}
