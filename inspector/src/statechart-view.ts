/**
 * The statechart of the selected actor, laid out by elkjs (layered, nested
 * states as nested boxes) and drawn as SVG. A layout is computed once per
 * machine; a state change only moves the `active` marks. The chart pans
 * and zooms (d3-zoom) and is fitted no smaller than labels stay readable;
 * "Enlarge" opens it over the page with the same controls. Eventless
 * (`always`) transitions are drawn dashed. The chart of an actor that has
 * ended (a finished run) stays, marked as ended.
 */
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { ActorInfo, StatechartNode } from '../../src/runtime/inspector/protocol.js';
import { ALWAYS_EVENT, activePaths } from '../../src/runtime/inspector/statechart.js';
import { fill, h, perFrame, streamRedrawMs, svg } from './dom.js';
import { layoutChart } from './layout.js';
import type { Model } from './model.js';
import { type PanZoom, panZoom } from './zoom.js';

/** Layouts by definition object: a reconnect brings new definitions, and new layouts with them. */
const layouts = new WeakMap<StatechartNode, Promise<SVGSVGElement>>();

export function statechartView(model: Model, request: (logicId: number) => void): HTMLElement {
  const title = h('h2', {}, 'Statechart');
  const body = h('div', { class: 'chart', 'data-testid': 'statechart' }, placeholder());
  // The dialog is named by its visible heading: the chart and its actor.
  const dialogTitle = h('h2', { id: 'statechart-dialog-title', class: 'overlay-title' });
  const overlay = h('div', {
    class: 'overlay',
    hidden: true,
    role: 'dialog',
    'aria-modal': 'true',
    'aria-labelledby': 'statechart-dialog-title',
  });
  const enlarge = h(
    'button',
    { type: 'button', class: 'enlarge', hidden: true, onclick: () => open() },
    'Enlarge',
  );
  const zoomSlot = h('div', { class: 'zoom-slot' });
  const root = h(
    'section',
    { class: 'panel statechart', 'aria-label': 'Statechart' },
    h('div', { class: 'panel-head' }, title, zoomSlot, enlarge),
    body,
    overlay,
  );
  const requested = new Set<number>();
  let shownLogic: number | undefined;
  let shown: SVGSVGElement | undefined;
  let shownZoom: PanZoom | undefined;
  /** The transform the page chose for the shown chart, to tell whether the user has moved since. */
  let autoTransform: string | undefined;

  const open = () => {
    if (!shown) return;
    const big = shown.cloneNode(true) as SVGSVGElement;
    big.classList.add('full');
    // Closing gives the focus back to Enlarge, where the keyboard left the page.
    const shut = () => {
      overlay.setAttribute('hidden', '');
      enlarge.focus();
    };
    const close = h('button', { type: 'button', class: 'close', onclick: shut }, 'Close');
    const bigZoom = attachZoom(big);
    dialogTitle.textContent = title.textContent;
    fill(overlay, h('div', { class: 'overlay-head' }, dialogTitle, bigZoom.toolbar, close), big);
    overlay.removeAttribute('hidden');
    overlay.onkeydown = (event) => {
      if (event.key === 'Escape') shut();
      // Tab stays in the dialog: the page behind it is covered.
      if (event.key !== 'Tab') return;
      const stops = Array.from(overlay.querySelectorAll<HTMLElement>('button:enabled'));
      const edge = event.shiftKey ? stops[0] : stops.at(-1);
      if (document.activeElement !== edge) return;
      event.preventDefault();
      (event.shiftKey ? stops.at(-1) : stops[0])?.focus();
    };
    requestAnimationFrame(() => autoView(bigZoom, big));
    close.focus();
  };

  const draw = perFrame(() => {
    const selected = model.selectedActor;
    // A run that ended keeps its chart: its last record is among the ended runs.
    const actor = selected
      ? (model.actors.get(selected) ?? model.endedRuns.find((a) => a.sessionId === selected))
      : shownRunActor(model);
    const ended = actor !== undefined && !model.actors.has(actor.sessionId);
    const heading = `Statechart${actor ? ` — ${actor.name}` : ''}${ended ? ' (ended)' : ''}`;
    if (title.textContent !== heading) {
      title.textContent = heading;
      dialogTitle.textContent = heading;
    }
    const logicId = actor?.logicId;
    const definition = logicId === undefined ? undefined : model.definitions.get(logicId);
    enlarge.toggleAttribute('hidden', !definition);
    if (logicId === undefined) {
      shownLogic = undefined;
      shown = undefined;
      fill(body, placeholder(actor));
      return;
    }
    if (!model.definitions.has(logicId)) {
      if (!requested.has(logicId)) request(logicId);
      requested.add(logicId);
      fill(body, h('p', { class: 'muted' }, 'Loading definition…'));
      return;
    }
    if (!definition) {
      fill(body, h('p', { class: 'muted' }, 'This machine has no readable definition.'));
      return;
    }
    if (shownLogic === logicId && shown) {
      // A new active state out of view is shown, unless the user has moved the view.
      if (
        markActive(shown, actor) &&
        shownZoom &&
        shownZoom.transform().toString() === autoTransform
      )
        autoTransform = autoView(shownZoom, shown);
      markActive(overlay.querySelector('svg'), actor);
      return;
    }
    shownLogic = logicId;
    let layout = layouts.get(definition);
    if (!layout) {
      layout = render(definition);
      layouts.set(definition, layout);
    }
    layout.then(
      (drawn) => {
        if (shownLogic !== logicId) return;
        const chart = drawn.cloneNode(true) as SVGSVGElement;
        shown = chart;
        fill(body, chart);
        const zoom = attachZoom(chart);
        shownZoom = zoom;
        fill(zoomSlot, zoom.toolbar);
        draw(true);
        requestAnimationFrame(() => {
          if (shown === chart) autoTransform = autoView(zoom, chart);
        });
      },
      (error: unknown) => fill(body, h('p', { class: 'error' }, `Layout failed: ${String(error)}`)),
    );
  }, streamRedrawMs);
  model.on('selection', () => draw(true));
  model.on('run', () => draw(true));
  model.on('actors', () => draw());
  model.on('definitions', () => draw(true));
  model.on('status', () => {
    // A request sent while disconnected is lost: ask again after reconnecting.
    if (model.connection !== 'open') {
      requested.clear();
      shownLogic = undefined;
    }
  });
  return root;
}

/** Pan and zoom over a drawn chart, fitted no smaller than readable. */
function attachZoom(chart: SVGSVGElement) {
  const layer = chart.querySelector<SVGGElement>('g.viewport')!;
  const width = Number(chart.dataset.width);
  const height = Number(chart.dataset.height);
  return panZoom(chart, layer, () => ({ width, height }), undefined, MIN_FIT_SCALE);
}

/** State labels are 12 px and transition labels 11 px: below this scale they would be too small to read. */
const MIN_FIT_SCALE = 1;

/**
 * Fits the chart; when it is too big to fit readably, shows its innermost
 * active state at the readable scale instead (pan, zoom or Enlarge for the
 * rest). Returns the transform chosen.
 */
function autoView(zoom: PanZoom, chart: SVGSVGElement): string {
  zoom.fit();
  const { k } = zoom.transform();
  const tooBig =
    Number(chart.dataset.width) * k > chart.clientWidth ||
    Number(chart.dataset.height) * k > chart.clientHeight;
  const active = chart.querySelectorAll<SVGGElement>('g.state.active:not(.root) > rect');
  const box = active[active.length - 1];
  if (tooBig && box) {
    const at = (name: string) => Number(box.getAttribute(name));
    zoom.focus(at('x') + at('width') / 2, at('y') + at('height') / 2, k);
  }
  return zoom.transform().toString();
}

/**
 * With no actor picked, the run shown: its actor, live or ended while the
 * page was open, else (a run that ended before the page opened) its machine
 * in the state the store gives, when the server knows the run machine.
 */
function shownRunActor(model: Model): ActorInfo | undefined {
  const run = model.run?.detail;
  if (!run) return undefined;
  const known =
    model.runActor(run.workflowId) ??
    model.endedRuns.findLast((a) => a.run?.workflowId === run.workflowId);
  if (known || run.logicId === undefined) return known;
  return {
    sessionId: `stored:${run.workflowId}`,
    id: run.workflowId,
    name: `workflow:${run.workflowId}`,
    kind: 'machine',
    logicId: run.logicId,
    // A stored status names the machine's final state in snake case (`compensation_failed`).
    value: run.state.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()),
    status: 'done',
  };
}

function placeholder(actor?: ActorInfo): HTMLElement {
  return h(
    'p',
    { class: 'muted' },
    actor ? `${actor.name} is not a state machine.` : 'Select an actor to see its statechart.',
  );
}

/** Marks the actor's active states; returns whether a state became active. */
function markActive(chart: SVGSVGElement | null, actor: ActorInfo | undefined): boolean {
  if (!chart) return false;
  const active = new Set(actor ? activePaths(actor.value) : []);
  let entered = false;
  for (const node of chart.querySelectorAll<SVGGElement>('g.state')) {
    const on = String(active.has(node.dataset.path ?? ''));
    // Only real changes touch the DOM: this runs on every batch of a busy run.
    if (node.dataset.active === on) continue;
    if (on === 'true' && node.dataset.active !== undefined) entered = true;
    node.classList.toggle('active', on === 'true');
    node.dataset.active = on;
  }
  return entered;
}

const CHAR_W = 7.2;

async function render(definition: StatechartNode): Promise<SVGSVGElement> {
  const edges: ElkExtendedEdge[] = [];
  /** Guarded transitions behind each edge, shown on hover rather than in the label. */
  const details = new Map<string, string>();
  const toElk = (node: StatechartNode): ElkNode => {
    // One edge per source and target, labelled with its events: a machine
    // often has several guarded transitions between the same two states.
    const grouped = new Map<string, { events: string[]; lines: string[]; always: boolean }>();
    for (const t of node.transitions) {
      for (const target of t.targets) {
        if (target === node.path) continue;
        const group = grouped.get(target) ?? { events: [], lines: [], always: false };
        if (t.event === ALWAYS_EVENT) group.always = true;
        if (!group.events.includes(t.event)) group.events.push(t.event);
        group.lines.push(t.guard ? `${t.event} [${t.guard}]` : t.event);
        grouped.set(target, group);
      }
    }
    for (const [target, { events, lines, always }] of grouped) {
      const text = events.join(', ');
      const id = `e:${node.path}->${target}${always && events.length === 1 ? ':always' : ''}`;
      details.set(id, lines.join('\n'));
      edges.push({
        id,
        sources: [nodeId(node.path)],
        targets: [nodeId(target)],
        labels: [{ text, width: text.length * 6.2 + 6, height: 13 }],
      });
    }
    const base = {
      id: nodeId(node.path),
      labels: [{ text: node.key, width: node.key.length * CHAR_W + 8, height: 16 }],
    };
    if (node.children.length === 0) {
      return { ...base, width: Math.max(70, node.key.length * CHAR_W + 28), height: 30 };
    }
    return {
      ...base,
      layoutOptions: { 'elk.padding': '[top=28,left=12,bottom=12,right=12]' },
      children: node.children.map(toElk),
    };
  };
  const graph: ElkNode = {
    ...toElk(definition),
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '24',
      'elk.spacing.nodeNode': '14',
      'elk.spacing.edgeNode': '8',
      'elk.spacing.edgeEdge': '5',
      'elk.spacing.edgeLabel': '2',
      'elk.padding': '[top=28,left=12,bottom=12,right=12]',
      'elk.json.shapeCoords': 'ROOT',
      'elk.json.edgeCoords': 'ROOT',
    },
  };
  graph.edges = edges;
  return drawChart(await layoutChart(graph), definition, details);
}

function drawChart(
  laid: ElkNode,
  definition: StatechartNode,
  details: Map<string, string>,
): SVGSVGElement {
  const width = Math.ceil(laid.width ?? 400);
  const height = Math.ceil(laid.height ?? 200);
  const nodes = new Map<string, StatechartNode>();
  const index = (node: StatechartNode) => {
    nodes.set(nodeId(node.path), node);
    node.children.forEach(index);
  };
  index(definition);
  const layers: SVGElement[] = [];
  const visit = (node: ElkNode) => {
    const def = nodes.get(node.id);
    const compound = (node.children?.length ?? 0) > 0;
    const isRoot = def?.path === '';
    layers.push(
      svg(
        'g',
        { class: `state ${def?.type ?? ''}${isRoot ? ' root' : ''}`, 'data-path': def?.path ?? '' },
        svg('rect', {
          x: node.x ?? 0,
          y: node.y ?? 0,
          width: node.width ?? 0,
          height: node.height ?? 0,
          rx: 8,
        }),
        svg(
          'text',
          {
            x: (node.x ?? 0) + (compound ? 10 : (node.width ?? 0) / 2),
            y: (node.y ?? 0) + (compound ? 18 : (node.height ?? 0) / 2 + 4),
            'text-anchor': compound ? 'start' : 'middle',
          },
          isRoot ? `#${def.key}` : (def?.key ?? ''),
        ),
      ),
    );
    for (const child of node.children ?? []) visit(child);
  };
  visit(laid);
  for (const edge of laid.edges ?? []) {
    const parts: SVGElement[] = [svg('title', {}, details.get(edge.id) ?? '')];
    for (const section of edge.sections ?? []) {
      const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint];
      parts.push(
        svg('path', {
          class: edge.id.endsWith(':always') ? 'transition always' : 'transition',
          d: points.map((p, i) => `${i ? 'L' : 'M'}${p.x},${p.y}`).join(' '),
          'marker-end': 'url(#sc-arrow)',
        }),
      );
    }
    for (const label of edge.labels ?? []) {
      parts.push(
        svg(
          'text',
          { class: 'edge-label', x: label.x ?? 0, y: (label.y ?? 0) + 11 },
          label.text ?? '',
        ),
      );
    }
    layers.push(svg('g', { class: 'edge' }, ...parts));
  }
  return svg(
    'svg',
    {
      class: 'chart-svg',
      'data-width': width,
      'data-height': height,
      role: 'img',
      'aria-label': `Statechart of ${definition.key}: drag to pan, scroll to zoom`,
    },
    svg(
      'defs',
      {},
      svg(
        'marker',
        {
          id: 'sc-arrow',
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto',
        },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }),
      ),
    ),
    svg('g', { class: 'viewport' }, ...layers),
  );
}

function nodeId(path: string): string {
  return `n:${path}`;
}
