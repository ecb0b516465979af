/**
 * Pan and zoom for an SVG drawing, with d3-zoom (wheel, drag, pinch,
 * double-click) plus buttons and keys: fit to view, zoom in and out. The
 * drawing lives in one `<g>` whose transform d3-zoom sets.
 */
import { select } from 'd3-selection';
import { type ZoomBehavior, type ZoomTransform, zoom, zoomIdentity } from 'd3-zoom';
import { h } from './dom.js';

export interface PanZoom {
  /** Scales and centres the drawing to fill the view (never above 1.5x). */
  fit(): void;
  zoomBy(factor: number): void;
  /**
   * Shows a point of the drawing, at least at scale `k`: centred, unless
   * that would leave empty space at an edge the drawing could fill.
   */
  focus(x: number, y: number, k?: number): void;
  /** Whether the view is as {@link fit} left it (the user has not moved it since). */
  fitted(): boolean;
  /** The current transform (for a minimap). */
  transform(): ZoomTransform;
  /** Moves the view so that the drawing's point (x, y) is at the centre. */
  centre(x: number, y: number): void;
  /** Buttons: fit, +, −. */
  toolbar: HTMLElement;
}

export function panZoom(
  svgEl: SVGSVGElement,
  layer: SVGGElement,
  size: () => { width: number; height: number },
  onChange: (t: ZoomTransform) => void = () => undefined,
  /** Fit never scales below this; a bigger drawing is shown from its top left. */
  minFit = 0,
): PanZoom {
  /** Set while {@link PanZoom.fit} moves the view, so its zoom event marks the view fitted. */
  let fitting = false;
  let fitted = false;
  const behaviour: ZoomBehavior<SVGSVGElement, unknown> = zoom<SVGSVGElement, unknown>()
    .scaleExtent([0.02, 4])
    // d3's default reads the SVG's width attribute, which fails for a
    // relative size while the drawing is not rendered (a closed panel).
    .extent(() => [
      [0, 0],
      [svgEl.clientWidth || 600, svgEl.clientHeight || 400],
    ])
    .on('zoom', (event: { transform: ZoomTransform }) => {
      fitted = fitting;
      layer.setAttribute('transform', event.transform.toString());
      onChange(event.transform);
    });
  const selection = select(svgEl);
  selection.call(behaviour);
  const view = () => ({ width: svgEl.clientWidth || 600, height: svgEl.clientHeight || 400 });
  const api: PanZoom = {
    fit() {
      const { width, height } = size();
      const v = view();
      if (width <= 0 || height <= 0) return;
      const k = Math.max(minFit, Math.min(1.5, (v.width - 24) / width, (v.height - 24) / height));
      const t = zoomIdentity
        .translate(
          Math.max(12, (v.width - width * k) / 2),
          Math.max(12, (v.height - height * k) / 2),
        )
        .scale(k);
      fitting = true;
      selection.call(behaviour.transform, t);
      fitting = false;
    },
    fitted: () => fitted,
    zoomBy(factor) {
      selection.call(behaviour.scaleBy, factor);
    },
    focus(x, y, k = 1) {
      const v = view();
      const { width, height } = size();
      const scale = Math.max(k, api.transform().k);
      selection.call(
        behaviour.transform,
        zoomIdentity
          .translate(
            filled(v.width / 2 - x * scale, v.width, width * scale),
            filled(v.height / 2 - y * scale, v.height, height * scale),
          )
          .scale(scale),
      );
    },
    centre(x, y) {
      const v = view();
      const scale = api.transform().k;
      selection.call(
        behaviour.transform,
        zoomIdentity.translate(v.width / 2 - x * scale, v.height / 2 - y * scale).scale(scale),
      );
    },
    transform() {
      return (svgEl as unknown as { __zoom?: ZoomTransform }).__zoom ?? zoomIdentity;
    },
    toolbar: h(
      'div',
      { class: 'zoom-tools', role: 'toolbar', 'aria-label': 'Zoom' },
      h(
        'button',
        {
          type: 'button',
          'data-zoom': 'fit',
          'aria-label': 'Fit to view',
          onclick: () => api.fit(),
        },
        'Fit',
      ),
      h(
        'button',
        {
          type: 'button',
          'data-zoom': 'in',
          'aria-label': 'Zoom in',
          onclick: () => api.zoomBy(1.4),
        },
        '+',
      ),
      h(
        'button',
        {
          type: 'button',
          'data-zoom': 'out',
          'aria-label': 'Zoom out',
          onclick: () => api.zoomBy(1 / 1.4),
        },
        '−',
      ),
    ),
  };
  return api;
}

/** Margin kept between a drawing and the edge of its view. */
const MARGIN = 12;

/**
 * A translation along one axis that keeps the view filled: `wanted` moved
 * just enough that no empty space shows beside a drawing longer than the
 * view (`drawn` long at the current scale), or the drawing centred when it
 * is shorter. The point `wanted` centred stays in view either way.
 */
function filled(wanted: number, view: number, drawn: number): number {
  if (drawn + 2 * MARGIN <= view) return (view - drawn) / 2;
  return Math.min(MARGIN, Math.max(view - drawn - MARGIN, wanted));
}
