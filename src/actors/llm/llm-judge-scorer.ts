import type { ResponseFormatJSONSchema } from 'openai/resources/shared';
import { z } from 'zod';
import { TroupeError } from '../../errors.js';
import type { WorkflowResult } from '../../schemas/workflow-result.js';
import type { EvaluationScorer, ScorerContext } from '../evaluator/scorers.js';
import { requestChat } from './chat-request.js';
import { type LlmClient, type LlmOptions, toLlmClient } from './llm-client.js';

/** The judge's answer once validated: `score` in 0..10, and why. */
export interface LlmJudgeVerdict {
  /** 0 (the run did not do what it was for) to 10 (nothing to improve). */
  score: number;
  /** The judge's reasons, in a few sentences. */
  reasons: string;
  /** The model that judged. */
  model: string;
}

/** Options of {@link llmJudgeScorer}. */
export interface LlmJudgeScorerOptions {
  /** The server to ask: a ready client, or options turned into one (see `createLlmClient`). */
  llm: LlmClient | LlmOptions;
  /** Weight beside the evaluator's built-in components. @default 1 */
  weight?: number;
  /** What a good run looks like, in words; sent to the model with the run. @default {@link DEFAULT_JUDGE_RUBRIC} */
  rubric?: string;
  /** Chat model of the judge. @default the client's model */
  model?: string;
  /**
   * Most characters of the run's description (name, tasks, output previews)
   * sent to the model; tasks that do not fit are counted, not listed. The
   * rubric and instructions come on top. @default 8000
   */
  maxPromptChars?: number;
  /** Sampling temperature. @default 0 (a score should not vary run to run) */
  temperature?: number;
  /** Called with every valid verdict, e.g. to log the reasons the score leaves out. */
  onVerdict?: (verdict: LlmJudgeVerdict, result: WorkflowResult) => void;
}

/** The rubric used when none is given. */
export const DEFAULT_JUDGE_RUBRIC = [
  'Judge whether the run achieved what the workflow is for.',
  '- Completed tasks whose outputs are concrete, relevant and consistent with each other score high.',
  '- Failed, cancelled or empty tasks, and outputs that are vague, wrong or off-topic, lower the score.',
  '- Judge the outputs, not how long the run took or how often tasks were retried.',
].join('\n');

const DEFAULT_MAX_PROMPT_CHARS = 8000;
/** No single output preview takes more than this, however few tasks there are. */
const MAX_OUTPUT_PREVIEW = 2000;
/** And none gets less, however many tasks there are (the rest are then left out). */
const MIN_OUTPUT_PREVIEW = 120;
const MAX_ERROR_PREVIEW = 200;

/**
 * What the model is asked for. Bounds are checked by {@link verdictSchema}
 * rather than in the JSON schema, so the format suits OpenAI's strict
 * structured outputs (as the planner's does).
 */
const answerSchema = z.object({
  score: z.number().describe('0 (the run did not do what it was for) to 10 (nothing to improve).'),
  reasons: z.string().describe('Why this score, in two to four sentences.'),
});

/** The answer as accepted: a score in 0..10 and a reason. */
const verdictSchema = z.object({
  score: z.number().min(0).max(10),
  reasons: z.string(),
});

/** {@link answerSchema} as JSON Schema, without the `$schema` dialect line. */
const { $schema: _dialect, ...answerJsonSchema } = z.toJSONSchema(answerSchema);

/** The `response_format` asking for `{ score, reasons }`. */
const JUDGE_RESPONSE_FORMAT: ResponseFormatJSONSchema = {
  type: 'json_schema',
  json_schema: { name: 'workflow_judgement', strict: true, schema: answerJsonSchema },
};

/**
 * An LLM judge as an evaluator scorer named `llm-judge`: the model reads the
 * workflow's name and description and, per task, its id, agent, status and a
 * truncated JSON preview of its output (at most `maxPromptChars` in all),
 * grades the run against the rubric as `{ score: 0..10, reasons }` through
 * structured output, and the scorer returns `score / 10`.
 *
 * A request error, a refusal or an answer that is not such JSON throws a
 * TroupeError; the evaluator then records the component with that error and
 * leaves it out of the score, so a flaky judge never fails an evaluation.
 *
 * @example
 * ```ts
 * new WorkflowEvaluator({ scorers: [llmJudgeScorer({ llm: createLlmClient(), weight: 0.3 })] });
 * ```
 * @throws TroupeError `CONFIG_ERROR` when no client can be made from `llm`
 * (see `createLlmClient`) or `maxPromptChars` is not a positive integer.
 */
export function llmJudgeScorer(options: LlmJudgeScorerOptions): EvaluationScorer {
  const client = toLlmClient(options.llm);
  const model = options.model ?? client.model;
  const rubric = options.rubric?.trim() || DEFAULT_JUDGE_RUBRIC;
  const maxPromptChars = options.maxPromptChars ?? DEFAULT_MAX_PROMPT_CHARS;
  if (!(Number.isSafeInteger(maxPromptChars) && maxPromptChars > 0)) {
    throw new TroupeError(
      'CONFIG_ERROR',
      `llmJudgeScorer: maxPromptChars must be a positive integer, not ${String(maxPromptChars)}.`,
    );
  }
  const temperature = options.temperature ?? 0;
  const site = { who: 'the LLM judge', model };

  return {
    name: 'llm-judge',
    weight: options.weight ?? 1,
    async score(result, context) {
      const completion = await requestChat({
        client,
        site,
        params: {
          model,
          temperature,
          response_format: JUDGE_RESPONSE_FORMAT,
          messages: [
            { role: 'system', content: judgeSystemPrompt(rubric) },
            { role: 'user', content: describeRun(result, context, maxPromptChars) },
          ],
        },
      });
      const message = completion.choices[0]!.message;
      const where = `LLM judge (model "${model}" at ${client.baseURL})`;
      if (message.content == null || message.content.trim() === '') {
        const why = message.refusal ? `refused: ${message.refusal}` : 'gave an empty answer';
        throw new TroupeError('TASK_FAILED', `${where} ${why}.`, {
          model,
          baseURL: client.baseURL,
        });
      }
      const verdict = parseVerdict(message.content, where, model, client.baseURL);
      options.onVerdict?.({ ...verdict, model }, result);
      return verdict.score / 10;
    },
  };
}

/** The instructions and the rubric. */
function judgeSystemPrompt(rubric: string): string {
  return [
    'You review finished runs of a multi-agent software workflow and grade how well each achieved its purpose.',
    'Rubric:',
    rubric,
    'Answer with JSON only: {"score": <number from 0 to 10>, "reasons": "<two to four sentences>"}.',
  ].join('\n');
}

/**
 * The run in words, at most `maxChars` long: a header, then one block per
 * task. Output previews share the room left after the header; tasks that do
 * not fit are left out and counted on a last line.
 */
function describeRun(result: WorkflowResult, context: ScorerContext, maxChars: number): string {
  const description = context.definition?.description.trim();
  const header = [
    `Workflow: ${result.name}`,
    ...(description ? [`Description: ${truncate(description, 1000)}`] : []),
    `Outcome: ${result.status} (${result.success ? 'succeeded' : 'did not succeed'})`,
    'Tasks:',
  ].join('\n');
  const tasks = Object.values(result.tasks);
  const taskDescriptions = new Map(
    (context.definition?.tasks ?? []).map((task) => [task.id, task.description.trim()]),
  );
  const room = maxChars - header.length;
  const previewChars = Math.min(
    MAX_OUTPUT_PREVIEW,
    Math.max(MIN_OUTPUT_PREVIEW, Math.floor(room / Math.max(1, tasks.length)) - 100),
  );
  const lines = [header];
  let used = header.length;
  for (const [index, task] of tasks.entries()) {
    const what = taskDescriptions.get(task.taskId);
    const block = [
      `- ${task.taskId} (agent ${task.agent}): ${task.status}`,
      ...(what ? [`  task: ${truncate(what, 200)}`] : []),
      ...(task.error ? [`  error: ${truncate(task.error.message, MAX_ERROR_PREVIEW)}`] : []),
      `  output: ${task.output === undefined ? '(none)' : truncate(jsonPreview(task.output), previewChars)}`,
    ].join('\n');
    const left = tasks.length - index;
    const omission = `\n(${left} more task(s) left out to keep this under ${maxChars} characters)`;
    // Keep room for the omission line unless this is the last task.
    const reserve = left > 1 ? omission.length : 0;
    if (used + 1 + block.length + reserve > maxChars) {
      if (used + omission.length <= maxChars) lines.push(omission.slice(1));
      break;
    }
    lines.push(block);
    used += 1 + block.length;
  }
  return truncate(lines.join('\n'), maxChars);
}

/** JSON of an output, or its string form when it cannot be serialised. */
function jsonPreview(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** `text` cut to at most `max` characters, saying how long it was. */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = `… (${text.length} chars)`;
  if (max <= marker.length) return text.slice(0, max);
  return text.slice(0, max - marker.length) + marker;
}

/** @throws TroupeError `TASK_FAILED` unless `content` is `{ score: 0..10, reasons }` as JSON. */
function parseVerdict(
  content: string,
  where: string,
  model: string,
  baseURL: string,
): z.infer<typeof verdictSchema> {
  const context = { model, baseURL };
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    throw new TroupeError(
      'TASK_FAILED',
      `${where} answered with text that is not valid JSON: ${JSON.stringify(truncate(content, 200))}.`,
      context,
    );
  }
  const parsed = verdictSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(answer)'}: ${issue.message}`,
    );
    throw new TroupeError(
      'TASK_FAILED',
      `${where} answered without a valid verdict (${issues.join('; ')}); expected {"score": 0..10, "reasons": "..."}.`,
      { ...context, issues },
    );
  }
  return parsed.data;
}
