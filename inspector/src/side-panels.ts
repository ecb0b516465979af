/**
 * The queue panel (counts per state, totals, running jobs with progress) and
 * the shared context panel (the watched run's shared data, and the
 * communicator's state when the runtime has one). Both read data the bridge
 * takes from the actor system, so they fill in as those actors appear.
 */
import type { JsonPreview } from '../../src/runtime/inspector/protocol.js';
import { fill, h, perFrame, streamRedrawMs } from './dom.js';
import type { Model } from './model.js';

export function queuePanel(model: Model): HTMLElement {
  const body = h('div', { 'data-testid': 'queue' });
  const draw = perFrame(() => {
    const queue = model.queue;
    if (!queue) {
      fill(
        body,
        h(
          'p',
          { class: 'muted' },
          'No task queue in this runtime. It shows here when an actor with system id "queue" joins.',
        ),
      );
      return;
    }
    fill(
      body,
      h(
        'div',
        { class: 'counts' },
        ...Object.entries(queue.counts).map(([k, n]) =>
          h('span', { class: `count job-${k}`, 'data-count': k }, `${k} ${n}`),
        ),
      ),
      h(
        'div',
        { class: 'totals muted' },
        Object.entries(queue.totals)
          .map(([k, n]) => `${k} ${n}`)
          .join(' · '),
      ),
      queue.running.length === 0
        ? h('p', { class: 'muted' }, 'No job running.')
        : h(
            'ul',
            { class: 'jobs' },
            ...queue.running.map((job) =>
              h(
                'li',
                {},
                h('span', { class: 'job-name' }, job.name || job.id),
                h('span', { class: 'muted' }, ` #${job.attempt}`),
                h('progress', { max: 100, value: job.progress ?? 0 }),
                job.message ? h('span', { class: 'muted' }, job.message) : null,
              ),
            ),
          ),
    );
  });
  model.on('queue', draw);
  draw();
  return h(
    'section',
    { class: 'panel queue', 'aria-label': 'Task queue' },
    h('h2', {}, 'Task queue'),
    body,
  );
}

export function sharedPanel(model: Model): HTMLElement {
  const body = h('div', { 'data-testid': 'shared' });
  let shownKey: string | undefined;
  const draw = perFrame(() => {
    const run = model.run;
    const workflowId = run?.detail.workflowId;
    const actor = run?.source === 'live' && workflowId ? model.runActor(workflowId) : undefined;
    const shared = field(actor?.summary, 'shared') ?? run?.detail.shared;
    const communicator = [...model.actors.values()].find((a) => a.systemId === 'communicator');
    const slot = workflowId
      ? field(field(communicator?.summary, 'workflows'), workflowId)
      : undefined;
    // Each batch of a busy run brings its actor again, mostly with the same
    // shared data: rebuild (and lay out) the panel only when what it shows changed.
    const key = JSON.stringify([
      workflowId,
      shared,
      communicator ? (slot ?? communicator.summary) : 0,
    ]);
    if (key === shownKey) return;
    shownKey = key;
    fill(
      body,
      h('h3', {}, run ? `Run ${run.detail.workflowId}` : 'Run'),
      shared === undefined || shared === null
        ? h('p', { class: 'muted' }, 'No run selected.')
        : h('pre', { class: 'json' }, JSON.stringify(shared, null, 2)),
      h('h3', {}, 'Communicator'),
      !communicator
        ? h(
            'p',
            { class: 'muted' },
            'No communicator in this runtime. Its shared contexts and versions show here when an actor with system id "communicator" joins.',
          )
        : slot
          ? h(
              'div',
              { 'data-testid': 'shared-version' },
              h(
                'p',
                {},
                `version ${String(field(slot, 'version') ?? '?')}`,
                h('span', { class: 'muted' }, ` · by ${String(field(slot, 'updatedBy') ?? '—')}`),
              ),
              h('pre', { class: 'json' }, JSON.stringify(field(slot, 'data') ?? {}, null, 2)),
            )
          : h('pre', { class: 'json' }, JSON.stringify(communicator.summary ?? {}, null, 2)),
    );
  }, streamRedrawMs);
  model.on('actors', () => draw());
  model.on('run', () => draw(true));
  draw();
  return h(
    'section',
    { class: 'panel shared', 'aria-label': 'Shared context' },
    h('h2', {}, 'Shared context'),
    body,
  );
}

function field(value: JsonPreview | undefined, key: string): JsonPreview | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return value[key];
}
