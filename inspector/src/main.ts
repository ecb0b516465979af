/**
 * The troupe inspector page: connects to the runtime's bridge and lays out
 * the panels. The newest run opens by itself (live, else the newest stored
 * one) until the user picks something.
 */
import './inspector.css';
import type { ActorInfo, ControlAction } from '../../src/runtime/inspector/protocol.js';
import { actorTree } from './actor-tree.js';
import { Connection } from './connection.js';
import { fill, h, perFrame } from './dom.js';
import { chartsStopWaiting, chartsWaitForRun, holdCharts } from './layout.js';
import { Model } from './model.js';
import { runPanel } from './run-panel.js';
import { queuePanel, sharedPanel } from './side-panels.js';
import { statechartView } from './statechart-view.js';
import { storedRuns } from './stored-runs.js';
import { STREAM_HOLD_FROM_TASKS } from './stream-hold.js';
import { timeline } from './timeline.js';

const model = new Model();
const connection = new Connection(model, () => connection.send({ type: 'stored.list' }));
/** The user chose what to look at; stop following new runs. */
let pinned = false;
/** A run has been asked for (live or stored): the newest stored run need not open. */
let asked = false;

const selectActor = (actor: ActorInfo) => {
  model.selectedActor = actor.sessionId;
  model.emit('selection');
};

/** A `run.watch` sent, to fall back to the stored run if it ended before the server got it. */
let watchAsked: { id: number; workflowId: string } | undefined;

const watchRun = (workflowId: string) => {
  holdCharts();
  watchAsked = {
    id: connection.send({ type: 'run.watch', workflowId, compact: true }),
    workflowId,
  };
};

model.on('reply', () => {
  const reply = model.lastReply;
  if (!reply || reply.id !== watchAsked?.id) return;
  const { workflowId } = watchAsked;
  watchAsked = undefined;
  if (reply.ok) return;
  connection.send({ type: 'run.watch', workflowId: null });
  connection.send({ type: 'stored.get', workflowId });
});

/** A run picked in the side column, which a phone shows below the run: scroll to the run when it arrives. */
let revealRun = false;
model.on('run', () => {
  if (!revealRun) return;
  revealRun = false;
  requestAnimationFrame(() => {
    const panel = document.querySelector('[data-testid="run-panel"]');
    const top = panel?.getBoundingClientRect().top ?? 0;
    if (top < 0 || top > window.innerHeight / 2) panel?.scrollIntoView({ block: 'start' });
  });
});

const openRun = (workflowId: string, live: boolean) => {
  pinned = true;
  revealRun = true;
  if (live && model.runActor(workflowId)) watchRun(workflowId);
  else {
    connection.send({ type: 'run.watch', workflowId: null });
    connection.send({ type: 'stored.get', workflowId });
  }
};

const status = h('div', { class: 'status', 'data-testid': 'status' });
const drawStatus = perFrame(() => {
  const s = model.stats;
  fill(
    status,
    h(
      'span',
      { class: `conn conn-${model.connection}`, 'data-connection': model.connection },
      model.connection,
    ),
    model.controls ? h('span', { class: 'badge controls-on' }, 'controls') : null,
    s
      ? h(
          'span',
          { class: 'muted' },
          `${s.events} inspected · ${s.eventsSkipped} skipped · ${s.malformedFrames + s.oversizedFrames} bad frames`,
        )
      : null,
    model.lastError ? h('span', { class: 'error', role: 'alert' }, model.lastError) : null,
    h(
      'a',
      {
        href: '/stately',
        target: '_blank',
        rel: 'noopener',
        title: 'Opens stately.ai in a frame: needs the internet',
      },
      'Stately view (online)',
    ),
  );
});
model.on('status', drawStatus);

// While a big live run is shown, statechart layouts wait (see stream-hold.ts).
const holdChartsForRun = () => {
  const run = model.run;
  if (run?.source === 'live' && run.detail.live && run.tasks.size >= STREAM_HOLD_FROM_TASKS) {
    chartsWaitForRun(run.detail.workflowId);
  } else chartsStopWaiting();
};
model.on('run', holdChartsForRun);
model.on('status', holdChartsForRun);

// Follow the newest live run while the user has not chosen one: the stored
// run a page opened after the end shows first gives way to a run that starts.
model.on('actors', () => {
  const current = model.run;
  const following =
    !pinned && (current?.source !== 'live' || !model.runActor(current.detail.workflowId));
  if (!following) return;
  let newest: ActorInfo | undefined;
  for (const actor of model.actors.values()) {
    if (actor.run && actor.run.workflowId !== current?.detail.workflowId) newest = actor;
  }
  if (!newest?.run) return;
  // Asked already: a 10,000-task run takes a while to arrive, and asking on
  // each batch of actors would have it sent (and drawn) again each time.
  if (watchAsked?.workflowId === newest.run.workflowId) return;
  asked = true;
  watchRun(newest.run.workflowId);
  if (!model.selectedActor || !model.actors.has(model.selectedActor)) selectActor(newest);
});

// A page opened after the run ended shows the newest stored run.
model.on('stored', () => {
  if (pinned || asked || model.run || !model.storedRuns?.[0]) return;
  const newest = model.storedRuns[0];
  if (model.runActor(newest.workflowId)) return;
  asked = true;
  connection.send({ type: 'stored.get', workflowId: newest.workflowId });
});

/** The run a fork or a replay started, until it is shown (see {@link announceStarted}). */
let startedToShow: string | undefined;

// A fork or a replay started: open the new run (stored, if it has already ended).
model.on('started', () => {
  if (!model.started) return;
  pinned = true;
  startedToShow = model.started;
  watchRun(model.started);
});

const app = document.getElementById('app') ?? document.body;
const layout = h('main', { class: 'layout', id: 'main' });
const toggleSide = h(
  'button',
  {
    type: 'button',
    class: 'side-toggle',
    'aria-controls': 'side',
    'aria-expanded': 'true',
    onclick: () => {
      const collapsed = layout.classList.toggle('side-collapsed');
      toggleSide.setAttribute('aria-expanded', String(!collapsed));
    },
  },
  'Actors & runs',
);
fill(
  app,
  h('a', { class: 'skip', href: '#main' }, 'Skip to the run'),
  h('header', { class: 'top' }, h('h1', {}, 'troupe inspector'), toggleSide, status),
  layout,
  timeline(model, (perBatch) =>
    connection.send({ type: 'events.watch', ...(perBatch === undefined ? {} : { perBatch }) }),
  ),
);
fill(
  layout,
  h(
    'aside',
    { class: 'col left', id: 'side', 'aria-label': 'Actors and runs' },
    actorTree(model, { select: selectActor, openRun }),
    storedRuns(model, {
      refresh: () => connection.send({ type: 'stored.list' }),
      open: (workflowId) => openRun(workflowId, false),
    }),
  ),
  h(
    'div',
    { class: 'col center' },
    runPanel(model, {
      control: (action: ControlAction, workflowId: string) =>
        connection.send({ type: 'control', action, workflowId }),
      openCheckpoint: (workflowId, seq) => {
        pinned = true;
        connection.send({ type: 'checkpoint.get', workflowId, seq });
      },
      fork: (workflowId, seq) => connection.send({ type: 'fork', workflowId, seq }),
      replay: (workflowId) => connection.send({ type: 'replay', workflowId }),
      signal: (workflowId, name, payload) =>
        connection.send({ type: 'signal', workflowId, name, payload }),
      requestTask: (workflowId, taskId, seq) =>
        connection.send({
          type: 'task.get',
          workflowId,
          taskId,
          ...(seq === undefined ? {} : { seq }),
        }),
    }),
  ),
  h(
    'aside',
    // Focusable: the column scrolls, and may hold nothing else the keyboard can reach.
    { class: 'col right', 'aria-label': 'Statechart, queue and shared context', tabindex: 0 },
    statechartView(model, (logicId) => connection.send({ type: 'definition.get', logicId })),
    queuePanel(model),
    sharedPanel(model),
  ),
);
/** Says what the page did where the page does not show it: a screen reader reads it out. */
const announcer = h('p', { class: 'sr-only', role: 'status', 'data-testid': 'announce' });
app.append(announcer);

/**
 * The button that started a fork or a replay is gone once the new run shows
 * (it belonged to the stored run): the focus goes to the new run's heading,
 * and the change is announced. Registered after the run panel, so its
 * redraw for the new run comes first in the frame.
 */
const announceStarted = () => {
  const run = model.run;
  if (!startedToShow || run?.detail.workflowId !== startedToShow) return;
  startedToShow = undefined;
  requestAnimationFrame(() => {
    document.getElementById('run-title')?.focus();
    announcer.textContent = `Opened the new run ${run.detail.name} (${run.detail.workflowId}), ${run.detail.state}.`;
  });
};
model.on('run', announceStarted);

drawStatus();
connection.start();
