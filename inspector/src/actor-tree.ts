/**
 * The actor tree: root, orchestrator, queue, communicator, agents and
 * workflow runs, each with its current state, redrawn once per frame when
 * actors change. Runs that ended while the page was open stay listed below.
 */
import type { ActorInfo, StateValueJson } from '../../src/runtime/inspector/protocol.js';
import { fill, h, perFrame, streamRedrawMs } from './dom.js';
import type { Model } from './model.js';

export interface ActorTreeActions {
  select: (actor: ActorInfo) => void;
  openRun: (workflowId: string, live: boolean) => void;
}

export function actorTree(model: Model, actions: ActorTreeActions): HTMLElement {
  const list = h('ul', { class: 'tree', 'data-testid': 'actor-tree' });
  const ended = h('ul', { class: 'tree ended' });
  // Shown once a run has ended while the page was open: no heading over an empty list.
  const endedPart = h('div', { hidden: true }, h('h3', {}, 'Runs ended in this session'), ended);
  const root = h(
    'section',
    { class: 'panel actors', 'aria-label': 'Actors' },
    h('h2', {}, 'Actors'),
    list,
    endedPart,
  );

  const draw = perFrame(() => {
    const byParent = new Map<string | undefined, ActorInfo[]>();
    for (const actor of model.actors.values()) {
      const parent =
        actor.parentId && model.actors.has(actor.parentId) ? actor.parentId : undefined;
      const siblings = byParent.get(parent) ?? [];
      siblings.push(actor);
      byParent.set(parent, siblings);
    }
    const item = (actor: ActorInfo): HTMLElement => {
      const children = (byParent.get(actor.sessionId) ?? []).sort(byName);
      const selected = model.selectedActor === actor.sessionId;
      return h(
        'li',
        {},
        h(
          'button',
          {
            class: `actor${selected ? ' selected' : ''}`,
            'data-actor': actor.name,
            'data-state': stateText(actor.value),
            onclick: () => {
              actions.select(actor);
              if (actor.run) actions.openRun(actor.run.workflowId, true);
            },
          },
          h('span', { class: 'actor-name' }, actor.name),
          actor.value === undefined ? null : h('span', { class: 'state' }, stateText(actor.value)),
          actor.run
            ? h('span', { class: 'progress' }, `${actor.run.settled}/${actor.run.total}`)
            : null,
        ),
        children.length ? h('ul', {}, ...children.map(item)) : null,
      );
    };
    fill(list, ...(byParent.get(undefined) ?? []).sort(byName).map(item));
    endedPart.hidden = model.endedRuns.length === 0;
    fill(
      ended,
      ...model.endedRuns
        .slice(-20)
        .reverse()
        .map((actor) =>
          h(
            'li',
            {},
            h(
              'button',
              {
                class: 'actor',
                'data-actor': actor.name,
                onclick: () => actor.run && actions.openRun(actor.run.workflowId, false),
              },
              h('span', { class: 'actor-name' }, actor.name),
              h('span', { class: 'state' }, actor.run?.state ?? actor.status),
            ),
          ),
        ),
    );
  }, streamRedrawMs);
  model.on('actors', draw);
  model.on('selection', draw);
  return root;
}

/** One collator for every sort: `localeCompare` sets one up per call, which showed in profiles. */
const collator = new Intl.Collator();

/** Keeps a stable order: the root's own children first by kind, then by name. */
function byName(a: ActorInfo, b: ActorInfo): number {
  return rank(a) - rank(b) || collator.compare(a.name, b.name);
}

function rank(actor: ActorInfo): number {
  const name = actor.systemId ?? '';
  if (name === 'orchestrator') return 0;
  if (name === 'queue') return 1;
  if (name === 'communicator') return 2;
  if (name.startsWith('agent:')) return 3;
  if (name.startsWith('workflow:')) return 4;
  return 5;
}

export function stateText(value: StateValueJson | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([key, child]) => `${key}.${stateText(child)}`)
    .join(', ');
}
