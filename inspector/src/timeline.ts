/**
 * The event timeline: who sent what to whom, newest at the bottom,
 * filterable by actor (sender or receiver) and by event type. The filter
 * is kept as an index array that grows with each batch, so 100,000 events
 * are filtered once, not per frame.
 */
import type { TimelineEvent } from '../../src/runtime/inspector/protocol.js';
import { fill, formatTime, h, perFrame, streamRedrawMs } from './dom.js';
import type { Model } from './model.js';
import { VirtualList } from './virtual-list.js';

/**
 * Events per batch the page asks for while no filter is set: the newest,
 * more than the list shows at once. A busy run sends thousands a second,
 * which nobody reads as they pass, and each costs the runtime a preview and
 * the page a parse. With a filter set the page asks for all the server
 * sends, so that the filter misses as few as before.
 */
export const UNFILTERED_EVENTS_PER_BATCH = 50;

/**
 * The event list. `ask(perBatch)` sends `events.watch`: how many events
 * per batch the page wants now (undefined: all the server sends).
 */
export function timeline(model: Model, ask: (perBatch: number | undefined) => void): HTMLElement {
  let matches: number[] = [];
  let scanned = 0;
  let scannedOf: TimelineEvent[] = model.events;
  const actors = new Set<string>();

  const actorSelect = h(
    'select',
    {
      'data-testid': 'timeline-actor',
      'aria-label': 'Filter events by actor',
      onchange: () => refilter(),
    },
    h('option', { value: '' }, 'all actors'),
  );
  const typeInput = h('input', {
    type: 'search',
    placeholder: 'event type contains…',
    'aria-label': 'Filter events by type',
    'data-testid': 'timeline-type',
    oninput: () => refilter(),
  });
  const info = h('span', { class: 'muted' });
  const list = new VirtualList({
    rowHeight: 22,
    className: 'timeline-list',
    render: (i) => {
      const event = model.events[matches[i] ?? -1];
      if (!event) return h('div', { class: 'row' });
      return h(
        'div',
        {
          class: 'row',
          'data-event-type': event.type,
          'aria-label': `Event ${event.seq}: ${event.type} from ${event.source ?? 'outside'} to ${event.target}, ${event.preview}`,
        },
        h('span', { class: 'c-seq' }, String(event.seq)),
        h('span', { class: 'c-time' }, formatTime(event.at)),
        h('span', { class: 'c-route' }, `${event.source ?? '(outside)'} → ${event.target}`),
        h('span', { class: 'c-type' }, event.type),
        h('span', { class: 'c-preview', title: event.preview }, event.preview),
      );
    },
  });
  list.follow = true;

  const accepts = (event: TimelineEvent, actor: string, type: string) =>
    (!actor || event.target === actor || event.source === actor) &&
    (!type || event.type.includes(type));

  const scan = () => {
    if (scannedOf !== model.events) {
      // The buffer was trimmed (bounded at MAX_EVENTS): filter it again from the start.
      scannedOf = model.events;
      scanned = 0;
      matches = [];
    }
    const actor = actorSelect.value;
    const type = typeInput.value.trim();
    const added: string[] = [];
    for (; scanned < model.events.length; scanned++) {
      const event = model.events[scanned]!;
      for (const name of [event.source, event.target]) {
        if (name && !actors.has(name)) {
          actors.add(name);
          added.push(name);
        }
      }
      if (accepts(event, actor, type)) matches.push(scanned);
    }
    for (const name of added.sort()) actorSelect.append(h('option', { value: name }, name));
  };

  const draw = perFrame(() => {
    scan();
    const skipped = model.skippedEvents ? ` · ${model.skippedEvents} skipped by batching` : '';
    fill(info, `${matches.length} shown of ${model.events.length} kept${skipped}`);
    list.update(matches.length);
  }, streamRedrawMs);

  let asked: number | undefined | null = null;
  const askEvents = () => {
    const filtered = actorSelect.value !== '' || typeInput.value.trim() !== '';
    const perBatch = filtered ? undefined : UNFILTERED_EVENTS_PER_BATCH;
    if (perBatch === asked) return;
    asked = perBatch;
    ask(perBatch);
  };

  const refilter = () => {
    askEvents();
    scanned = 0;
    matches = [];
    draw();
  };
  askEvents();

  model.on('events', draw);
  return h(
    'section',
    { class: 'panel timeline', 'data-testid': 'timeline', 'aria-label': 'Events' },
    h('div', { class: 'timeline-head' }, h('h2', {}, 'Events'), actorSelect, typeInput, info),
    list.element,
  );
}
