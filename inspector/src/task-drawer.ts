/**
 * The selected task in a side drawer that opens in view (over the right of
 * the page, the full height; the whole width on a phone): status, timing,
 * every attempt with its error, output and input as folding JSON, the saga
 * compensation, LLM turns and token usage when the output has them, what an
 * LLM agent writes and calls while it runs, and the
 * idempotency key. Esc or the close button closes it and gives focus back.
 */

import { taskCancelReason } from '../../src/runtime/inspector/cancel-reason.js';
import type {
  JsonPreview,
  LlmLogEntry,
  PauseSpan,
  ProgressEntry,
  TaskDetailView,
  TaskView,
} from '../../src/runtime/inspector/protocol.js';
import { fill, formatDuration, formatTime, h } from './dom.js';
import { jsonView } from './json-view.js';
import type { Model } from './model.js';
import { shownStatus, statusText } from './status.js';

export interface TaskDrawer {
  element: HTMLElement;
  /** Opens the drawer on a task of the shown run (asks the server for its details). */
  open(taskId: string): void;
  close(): void;
  /** The shown run's tasks changed: refresh if the open task is among them. */
  changed(taskIds: Iterable<string>): void;
  /** Redraws from the model (summary now, details when they arrive). */
  draw(): void;
}

export function taskDrawer(
  model: Model,
  actions: { request: (taskId: string) => void; openTask: (taskId: string) => void },
): TaskDrawer {
  const body = h('div', { class: 'drawer-body' });
  const heading = h('h2', { id: 'drawer-title', tabindex: -1 });
  const closeButton = h(
    'button',
    { type: 'button', class: 'close', 'aria-label': 'Close task details' },
    '✕',
  );
  const element = h(
    'aside',
    {
      class: 'drawer',
      role: 'dialog',
      'aria-modal': 'false',
      'aria-labelledby': 'drawer-title',
      'data-testid': 'task-drawer',
      hidden: true,
    },
    h('div', { class: 'drawer-head' }, heading, closeButton),
    body,
  );
  let returnFocus: Element | null = null;
  let requested = false;
  const api: TaskDrawer = {
    element,
    open(taskId) {
      if (!element.hidden && model.selectedTask === taskId) return;
      returnFocus = document.activeElement;
      model.selectedTask = taskId;
      model.taskDetail = undefined;
      element.hidden = false;
      document.body.classList.add('drawer-open');
      requested = true;
      actions.request(taskId);
      api.draw();
      heading.focus({ preventScroll: true });
    },
    close() {
      if (element.hidden) return;
      element.hidden = true;
      document.body.classList.remove('drawer-open');
      model.selectedTask = undefined;
      model.taskDetail = undefined;
      model.emit('selection');
      if (returnFocus instanceof HTMLElement || returnFocus instanceof SVGElement)
        returnFocus.focus();
    },
    changed(taskIds) {
      const id = model.selectedTask;
      if (!id || element.hidden || requested) return;
      for (const changed of taskIds) {
        if (changed !== id) continue;
        requested = true;
        actions.request(id);
        return;
      }
    },
    draw() {
      const id = model.selectedTask;
      const task = id ? model.run?.tasks.get(id) : undefined;
      if (!id || !task) {
        fill(heading, id ?? '');
        fill(body, h('p', { class: 'muted' }, 'This task is not in the run shown.'));
        return;
      }
      const detail = model.taskDetail?.id === id ? model.taskDetail : undefined;
      if (detail) requested = false;
      fill(heading, h('span', { class: 'drawer-id' }, task.id), ' ', badge(task));
      const cancelled = taskCancelReason(task, model.run?.detail.stopReason);
      fill(body, ...sections(task, detail, cancelled, actions.openTask));
    },
  };
  closeButton.addEventListener('click', () => api.close());
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !element.hidden) api.close();
  });
  return api;
}

function badge(task: TaskView | TaskDetailView): HTMLElement {
  const status = shownStatus(task);
  return h(
    'span',
    { class: `badge status-${status}`, 'data-status': status, 'data-testid': 'drawer-status' },
    statusText(status),
  );
}

function sections(
  task: TaskView,
  detail: TaskDetailView | undefined,
  /** Why the task was cancelled, when it was. */
  cancelReason: string | undefined,
  openTask: (id: string) => void,
): (HTMLElement | null)[] {
  const links = (ids: string[]) =>
    ids.length === 0
      ? '—'
      : h(
          'span',
          { class: 'links' },
          ...ids.map((id) =>
            h('button', { type: 'button', class: 'link', onclick: () => openTask(id) }, id),
          ),
        );
  const source = detail ?? task;
  return [
    kvList([
      ['agent', task.agent],
      ['attempts', String(task.attempts)],
      ['started', formatTime(source.startedAt)],
      ['finished', formatTime(task.finishedAt)],
      ['duration', durationText(task, detail)],
      [
        'progress',
        task.progress === undefined
          ? ''
          : `${Math.round(task.progress * 100)}%${task.progressMessage ? ` — ${task.progressMessage}` : ''}`,
      ],
      ['retry at', detail?.retryAt === undefined ? '' : formatTime(detail.retryAt)],
      ['skipped', task.skipReason ?? ''],
      [
        'cancelled because',
        cancelReason ? h('span', { 'data-testid': 'cancel-reason' }, cancelReason) : '',
      ],
      ['depends on', links(task.dependsOn)],
      ['dependents', detail ? links(detail.dependents) : ''],
      [
        'idempotency key',
        detail ? h('code', { 'data-testid': 'idempotency-key' }, detail.idempotencyKey) : '',
      ],
    ]),
    task.description
      ? h('p', { class: 'description' }, detail?.description ?? task.description)
      : null,
    outputSection(task, detail),
    detail?.progressLog ? progressSection(detail.progressLog) : null,
    detail?.llmLog ? llmSection(detail.llmLog) : null,
    source.error && task.status !== 'completed'
      ? section('Error', h('pre', { class: 'error', 'data-testid': 'task-error' }, source.error))
      : null,
    usageSection(detail?.outputJson),
    detail ? attemptsSection(detail) : h('p', { class: 'muted' }, 'Loading details…'),
    compensationSection(source, detail?.compensationOutput),
    detail ? section('Input', jsonView(detail.input, 3)) : null,
  ];
}

/**
 * From the first start to the end, saying what of it was no work: the run
 * paused (as this process saw it) and the waits between attempts (retry
 * backoff, less any pause in them).
 */
function durationText(task: TaskView, detail: TaskDetailView | undefined): string {
  const { startedAt, finishedAt } = task;
  if (startedAt === undefined || finishedAt === undefined) return '';
  const total = formatDuration(startedAt, finishedAt);
  const pauses = detail?.pauses ?? [];
  const paused = pausedWithin(startedAt, finishedAt, pauses);
  const parts = paused > 0 ? [`${formatDuration(0, paused)} with the run paused`] : [];
  if (task.attempts > 1) {
    const log = detail?.attemptLog ?? [];
    let backoff = log.length === task.attempts ? 0 : undefined;
    for (let i = 1; i < log.length && backoff !== undefined; i++) {
      const end = log[i - 1]!.endedAt;
      const start = log[i]!.startedAt;
      backoff =
        end === undefined || start === undefined
          ? undefined
          : backoff + start - end - pausedWithin(end, start, pauses);
    }
    parts.push(
      backoff === undefined
        ? 'the retry backoff between attempts'
        : `${formatDuration(0, backoff)} of retry backoff between attempts`,
    );
  }
  return parts.length === 0
    ? total
    : `${total} from the first start to the end, including ${parts.join(' and ')}`;
}

/** How long of `from`..`to` the run was paused. */
function pausedWithin(from: number, to: number, pauses: readonly PauseSpan[]): number {
  let ms = 0;
  for (const p of pauses) ms += Math.max(0, Math.min(to, p.to ?? to) - Math.max(from, p.from));
  return ms;
}

function outputSection(task: TaskView, detail: TaskDetailView | undefined): HTMLElement | null {
  if (detail?.outputJson !== undefined) {
    return section(
      'Output',
      h('div', { 'data-testid': 'task-output' }, jsonView(detail.outputJson, 2)),
    );
  }
  if (task.output === undefined) return null;
  return section(
    'Output',
    h('pre', { class: 'output', 'data-testid': 'task-output' }, task.output),
  );
}

/** Every progress message the task's agent reported, with when and how far, a retry's marked with its attempt (refreshed with the task's progress). */
function progressSection(log: readonly ProgressEntry[]): HTMLElement {
  return section(
    'Progress',
    h(
      'ol',
      { class: 'progress-log', 'data-testid': 'progress-log' },
      ...log.map((entry) =>
        h(
          'li',
          {},
          h(
            'span',
            { class: 'muted' },
            `${entry.attempt > 1 ? `#${entry.attempt} ` : ''}${formatTime(entry.at)}`,
          ),
          ` ${Math.round(entry.progress * 100)}% — ${entry.message}`,
        ),
      ),
    ),
  );
}

/** What the task's LLM agent wrote and called, turn by turn, as it happened (refreshed with the task's progress). */
function llmSection(log: readonly LlmLogEntry[]): HTMLElement {
  return section(
    'LLM activity',
    h(
      'ol',
      { class: 'llm-log', 'data-testid': 'llm-log' },
      ...log.map((entry) => {
        const where = `#${entry.attempt} turn ${entry.turn}`;
        if (entry.kind === 'text') {
          return h(
            'li',
            { 'data-kind': 'text' },
            h('span', { class: 'muted' }, where),
            h('pre', { class: 'llm-text' }, entry.text),
          );
        }
        if (entry.kind === 'tool_call') {
          return h(
            'li',
            { 'data-kind': 'tool_call' },
            h('span', { class: 'muted' }, where),
            ` → ${entry.name} `,
            h('code', {}, entry.arguments),
            entry.approval === 'ask' ? ' (waits for approval)' : '',
          );
        }
        return h(
          'li',
          { 'data-kind': 'tool_result', 'data-ok': String(entry.ok) },
          h('span', { class: 'muted' }, where),
          ` ${entry.ok ? '←' : '✗'} ${entry.name}${entry.rejected ? ' rejected' : ''} `,
          h('code', {}, entry.result),
        );
      }),
    ),
  );
}

function usageSection(output: JsonPreview | undefined): HTMLElement | null {
  if (!output || typeof output !== 'object' || Array.isArray(output)) return null;
  const usage = output.usage;
  const turns = output.turns;
  if (
    (usage === undefined || typeof usage !== 'object' || usage === null) &&
    typeof turns !== 'number'
  )
    return null;
  const rows: [string, string][] = [];
  if (typeof turns === 'number') rows.push(['LLM turns', String(turns)]);
  if (usage && typeof usage === 'object' && !Array.isArray(usage)) {
    for (const [key, value] of Object.entries(usage)) rows.push([key, String(value)]);
  }
  return section('LLM usage', kvList(rows));
}

function attemptsSection(detail: TaskDetailView): HTMLElement {
  if (detail.attemptLog.length === 0)
    return section('Attempts', h('p', { class: 'muted' }, 'Not started.'));
  const known =
    detail.attemptLog.length < detail.attempts
      ? h(
          'p',
          { class: 'muted' },
          `Attempts before #${detail.attemptLog[0]?.attempt ?? detail.attempts} are not kept: a task keeps its 20 newest failed attempts (runs stored by earlier versions keep none).`,
        )
      : null;
  return section(
    'Attempts',
    known,
    h(
      'table',
      { class: 'attempts', 'data-testid': 'attempts' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['#', 'outcome', 'agent', 'started', 'ended', 'error'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...detail.attemptLog.map((a) =>
          h(
            'tr',
            { 'data-attempt': a.attempt, 'data-outcome': a.outcome },
            h('td', {}, String(a.attempt)),
            h('td', {}, a.outcome),
            h('td', {}, a.agent),
            h('td', {}, formatTime(a.startedAt)),
            h('td', {}, formatTime(a.endedAt)),
            h('td', { class: 'error' }, a.error ?? ''),
          ),
        ),
      ),
    ),
  );
}

function compensationSection(
  task: TaskView | TaskDetailView,
  returned: JsonPreview | undefined,
): HTMLElement | null {
  const c = task.compensation;
  if (!c) return null;
  return section(
    'Compensation',
    kvList([
      ['status', c.status],
      ['attempts', c.attempts === undefined ? '' : String(c.attempts)],
      ['error', c.error ?? ''],
      [
        'returned',
        returned === undefined
          ? ''
          : h('div', { 'data-testid': 'compensation-output' }, jsonView(returned, 2)),
      ],
    ]),
  );
}

function section(title: string, ...children: (HTMLElement | null)[]): HTMLElement {
  return h('section', { class: 'drawer-section' }, h('h3', {}, title), ...children);
}

function kvList(rows: [string, string | HTMLElement][]): HTMLElement {
  return h(
    'dl',
    { class: 'kv-list' },
    ...rows.filter(([, v]) => v !== '').flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
  );
}
