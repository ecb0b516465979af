/**
 * The run's open waits, above its DAG where they cannot be missed: each
 * with its task, kind, prompt, since when and until when it waits. A page
 * with controls answers here: Approve / Reject for an approval, a JSON
 * answer checked against the wait's schema for an input or a signal. The
 * answer goes to `engine.signal` over the token-protected socket; the
 * runtime's reply (accepted, or why not) is shown under the form.
 */
import type { WaitView } from '../../src/runtime/inspector/protocol.js';
import type * as AnswerCheck from './answer-check.js';
import { fill, formatTime, h } from './dom.js';
import type { Model } from './model.js';

/**
 * The answer check is a file of its own (it holds zod, three quarters of the
 * page's code by size; see page-assets.ts), fetched once the page shows a
 * wait: a page opened on a busy run has a quarter of the code to compile.
 * The path is a variable, so the bundler leaves the import to the browser.
 */
const ANSWER_CHECK_PATH = '/answer-check.js';
let answerCheck: Promise<typeof AnswerCheck> | undefined;
const loadAnswerCheck = (): Promise<typeof AnswerCheck> => {
  answerCheck ??= (import(ANSWER_CHECK_PATH) as Promise<typeof AnswerCheck>).catch(
    (error: unknown) => {
      answerCheck = undefined;
      throw error;
    },
  );
  return answerCheck;
};

export interface WaitsPanelActions {
  /** Sends the answer; returns the request id the server's reply echoes. */
  signal: (workflowId: string, name: string, payload: unknown) => number;
  openTask: (taskId: string) => void;
}

/** What became of the last answer sent to each wait, by wait name. */
type Outcome = { state: 'sending'; id: number } | { state: 'error'; text: string };

const KIND_TEXT: Record<WaitView['kind'], string> = {
  approval: 'approval',
  input: 'input',
  signal: 'signal',
};

export function waitsPanel(model: Model, actions: WaitsPanelActions): HTMLElement {
  const root = h('section', {
    class: 'waits-panel',
    role: 'region',
    'aria-label': 'Waiting for an answer',
    'data-testid': 'waits',
    hidden: true,
  });
  /** Typed answers survive redraws (a batch can arrive while someone types). */
  const drafts = new Map<string, string>();
  const outcomes = new Map<string, Outcome>();
  let shownKey = '';

  /** Checks the answer (`text` typed as JSON, or a payload the form built), then sends it. */
  const send = (
    workflowId: string,
    wait: WaitView,
    answer: { text: string } | { payload: unknown },
  ) => {
    loadAnswerCheck().then(
      (check) => {
        const checked =
          'text' in answer
            ? check.checkAnswer(answer.text, wait.schema)
            : check.checkPayload(answer.payload, wait.schema);
        if (!checked.ok) {
          outcomes.set(wait.name, { state: 'error', text: checked.issues.join('; ') });
        } else {
          const id = actions.signal(workflowId, wait.name, checked.payload);
          outcomes.set(wait.name, { state: 'sending', id });
        }
        draw(true);
      },
      (error: unknown) => {
        outcomes.set(wait.name, {
          state: 'error',
          text: `The page could not load its answer check (${String(error)}); reload it.`,
        });
        draw(true);
      },
    );
  };

  const form = (workflowId: string, wait: WaitView): HTMLElement => {
    const outcome = outcomes.get(wait.name);
    const busy = outcome?.state === 'sending';
    const message = h(
      'p',
      { class: 'wait-message', role: 'status', 'aria-live': 'polite' },
      outcome?.state === 'sending'
        ? 'Sent; the run goes on once the runtime has stored the answer.'
        : '',
    );
    if (outcome?.state === 'error') {
      message.className = 'wait-message error';
      message.setAttribute('role', 'alert');
      message.textContent = outcome.text;
    }
    if (asksApproval(wait)) {
      const reasonId = `wait-reason-${cssId(wait.name)}`;
      const reason = h('input', {
        id: reasonId,
        type: 'text',
        class: 'wait-reason',
        placeholder: 'optional',
        value: drafts.get(wait.name) ?? '',
        oninput: (e: Event) => drafts.set(wait.name, (e.target as HTMLInputElement).value),
      });
      const answer = (approved: boolean) => {
        const text = reason.value.trim();
        send(workflowId, wait, {
          payload: { approved, by: 'inspector', ...(text ? { reason: text } : {}) },
        });
      };
      return h(
        'div',
        { class: 'wait-form' },
        h('label', { for: reasonId }, 'Reason'),
        reason,
        h(
          'div',
          { class: 'wait-buttons' },
          ...(
            [
              ['approve', '✓ Approve', true],
              ['reject', '✕ Reject', false],
            ] as const
          ).map(([action, label, approved]) =>
            h(
              'button',
              {
                type: 'button',
                class: action,
                'data-answer': action,
                disabled: busy,
                'aria-label': `${label.slice(2)} ${wait.name}`,
                onclick: () => answer(approved),
              },
              label,
            ),
          ),
        ),
        message,
      );
    }
    const inputId = `wait-answer-${cssId(wait.name)}`;
    const input = h('textarea', {
      id: inputId,
      class: 'wait-answer',
      rows: 3,
      spellcheck: false,
      placeholder: 'JSON, e.g. "yes" or {"choice": 1}',
      oninput: (e: Event) => drafts.set(wait.name, (e.target as HTMLTextAreaElement).value),
    });
    input.value = drafts.get(wait.name) ?? '';
    return h(
      'form',
      {
        class: 'wait-form',
        onsubmit: (e: Event) => {
          e.preventDefault();
          send(workflowId, wait, { text: input.value });
        },
      },
      h('label', { for: inputId }, 'Answer (JSON)'),
      input,
      wait.schema === undefined
        ? null
        : h(
            'details',
            { class: 'wait-schema' },
            h('summary', {}, 'Expected answer (JSON Schema)'),
            h('pre', {}, JSON.stringify(wait.schema, null, 2)),
          ),
      h(
        'div',
        { class: 'wait-buttons' },
        h(
          'button',
          { type: 'submit', class: 'send', 'data-answer': 'send', disabled: busy },
          'Send answer',
        ),
      ),
      message,
    );
  };

  const draw = (force = false) => {
    const run = model.run;
    const waits = run?.detail.waits ?? [];
    const canAnswer = model.controls && run?.source === 'live' && run.detail.live;
    const key = `${run?.detail.workflowId}|${canAnswer}|${waits.map((w) => w.name).join('\u0000')}`;
    if (!force && key === shownKey) return;
    shownKey = key;
    for (const name of [...outcomes.keys()])
      if (!waits.some((w) => w.name === name)) outcomes.delete(name);
    root.hidden = !run || waits.length === 0;
    if (!run || waits.length === 0) {
      fill(root);
      return;
    }
    // Fetched while the person reads the prompt, so an answer is checked at once.
    if (canAnswer) void loadAnswerCheck().catch(() => undefined);
    const workflowId = run.detail.workflowId;
    const hadFocus = root.contains(document.activeElement);
    fill(
      root,
      h('h3', {}, `◷ Waiting for an answer (${waits.length})`),
      h(
        'ul',
        { class: 'waits' },
        ...waits.map((wait) =>
          h(
            'li',
            { class: `wait wait-${wait.kind}`, 'data-wait': wait.name },
            h(
              'div',
              { class: 'wait-head' },
              h('span', { class: 'badge status-waiting' }, `◷ ${KIND_TEXT[wait.kind]}`),
              h('strong', { class: 'wait-name' }, wait.name),
              h(
                'button',
                {
                  type: 'button',
                  class: 'link',
                  'aria-label': `Show task ${wait.taskId}`,
                  onclick: () => actions.openTask(wait.taskId),
                },
                `task ${wait.taskId}`,
              ),
              h(
                'span',
                { class: 'muted' },
                `since ${formatTime(wait.since)}`,
                wait.deadline === undefined ? '' : ` · times out at ${formatTime(wait.deadline)}`,
              ),
            ),
            h('p', { class: 'wait-prompt' }, wait.prompt ?? 'No prompt given.'),
            canAnswer
              ? form(workflowId, wait)
              : h(
                  'p',
                  { class: 'muted' },
                  run.source === 'live' && run.detail.live
                    ? `Answer with \`troupe ${asksApproval(wait) ? 'approve' : 'signal'} ${workflowId} ${wait.name}\`, or open this page with the token on a runtime with inspector.controls.`
                    : 'Read-only view.',
                ),
          ),
        ),
      ),
    );
    // The wait answered from the keyboard is gone: the next one takes the focus.
    if (hadFocus && !root.contains(document.activeElement)) {
      root.querySelector<HTMLElement>('.wait button')?.focus({ preventScroll: true });
    }
  };

  model.on('waits', () => draw());
  model.on('run', () => draw());
  model.on('status', () => draw());
  model.on('reply', () => {
    const reply = model.lastReply;
    if (!reply) return;
    for (const [name, outcome] of outcomes) {
      if (outcome.state !== 'sending' || outcome.id !== reply.id) continue;
      if (reply.ok) return;
      outcomes.set(name, {
        state: 'error',
        text: `${reply.error?.code ?? 'FAILED'}: ${reply.error?.message ?? 'refused'}`,
      });
      draw(true);
      return;
    }
  });
  draw();
  return root;
}

/** A wait name as part of an element id (ids must not contain spaces). */
/** An approval task, or a wait that takes the same answer (an LLM tool call waiting for approval). */
function asksApproval(wait: WaitView): boolean {
  if (wait.kind === 'approval') return true;
  const schema = wait.schema as
    | { properties?: { approved?: { type?: unknown } }; required?: unknown }
    | undefined;
  return (
    schema?.properties?.approved?.type === 'boolean' &&
    Array.isArray(schema.required) &&
    schema.required.includes('approved')
  );
}

function cssId(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);
}
