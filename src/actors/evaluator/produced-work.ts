/**
 * What a run of tool-using agents produced, judged from the stored result
 * alone: the files each agent wrote, the commands (tests) they ran and how
 * those ended, and whether the decisions recorded in the shared context
 * agree. Scheduling metrics say a run went smoothly; these say whether it
 * did any work. Pure, like the rest of the evaluator.
 *
 * A task counts when its output records tool calls (`toolCalls`, as LLM
 * agents' outputs do); a run with no such task has no produced work, and
 * its evaluation has none of these numbers.
 */
import { z } from 'zod';
import { toolEffectSchema } from '../../schemas/tool-effect.js';
import type { WorkflowResult } from '../../schemas/workflow-result.js';
import { decisionsOf } from '../llm/tools/decisions.js';
import type { Recommendation, ScoreComponent } from './evaluation-schema.js';

const decisionSchema = z.object({ decision: z.string(), by: z.string() });

export const producedWorkSchema = z.object({
  /** Completed tasks whose output records tool calls. */
  toolTasks: z.array(z.string()),
  /** Of those, the ones that wrote a file, ran a command or recorded a decision. */
  tasksWithWork: z.array(z.string()),
  /** Each file written, once, with the task that wrote it last. */
  files: z.array(
    z.object({
      path: z.string(),
      taskId: z.string(),
      agent: z.string(),
      bytes: z.number().int(),
      /** Every task that wrote it, in order; more than one means later tasks changed it. */
      writers: z.array(z.string()),
    }),
  ),
  /** Commands run through tools, in task order. */
  commands: z.array(
    z.object({
      taskId: z.string(),
      agent: z.string(),
      command: z.string(),
      exitCode: z.number().int().nullable(),
      /** Exit code 0 and not killed. */
      passed: z.boolean(),
    }),
  ),
  /** The decisions record at the end of the run, by topic. */
  decisions: z.record(z.string(), decisionSchema),
  /** Topics decided differently by different authors. */
  conflicts: z.array(z.object({ topic: z.string(), decisions: z.array(decisionSchema) })),
  /** Tool calls that failed and went back to the model as errors. */
  failedToolCalls: z.number().int(),
});
/** Files, commands and decisions of a run, per task and agent (see produced-work.ts). */
export type ProducedWork = z.infer<typeof producedWorkSchema>;

const toolOutputSchema = z.object({
  toolCalls: z.array(
    z.object({ name: z.string(), ok: z.boolean(), effect: toolEffectSchema.optional() }),
  ),
});

/** The produced work of a run; undefined when no completed task recorded tool calls. */
export function producedWork(result: WorkflowResult): ProducedWork | undefined {
  const files = new Map<string, ProducedWork['files'][number]>();
  const commands: ProducedWork['commands'] = [];
  const tasksWithWork: string[] = [];
  const toolTasks: string[] = [];
  let failedToolCalls = 0;
  for (const task of Object.values(result.tasks)) {
    if (task.status !== 'completed') continue;
    const parsed = toolOutputSchema.safeParse(task.output);
    if (!parsed.success) continue;
    toolTasks.push(task.taskId);
    let worked = false;
    for (const call of parsed.data.toolCalls) {
      if (!call.ok) failedToolCalls++;
      const effect = call.effect;
      if (!effect) continue;
      worked = true;
      if (effect.kind === 'file') {
        const writers = files.get(effect.path)?.writers ?? [];
        files.set(effect.path, {
          path: effect.path,
          taskId: task.taskId,
          agent: task.agent,
          bytes: effect.bytes,
          writers: writers.includes(task.taskId) ? writers : [...writers, task.taskId],
        });
      } else if (effect.kind === 'command') {
        commands.push({
          taskId: task.taskId,
          agent: task.agent,
          command: effect.command,
          exitCode: effect.exitCode,
          passed: effect.exitCode === 0 && !effect.timedOut,
        });
      }
    }
    if (worked) tasksWithWork.push(task.taskId);
  }
  if (toolTasks.length === 0) return undefined;
  const { decisions, conflicts } = decisionsOf(result.context);
  return {
    toolTasks,
    tasksWithWork,
    files: [...files.values()].sort((a, b) => a.path.localeCompare(b.path)),
    commands,
    decisions: { ...decisions },
    conflicts,
    failedToolCalls,
  };
}

/**
 * The `work` score component: the mean of the parts that apply, each 0..1:
 * tasks that produced something, commands that passed, decisions without
 * conflict.
 */
export function workComponent(work: ProducedWork, weight: number): ScoreComponent {
  const parts: Array<[string, number, number]> = [
    ['tasks with work', work.tasksWithWork.length, work.toolTasks.length],
  ];
  const passed = work.commands.filter((c) => c.passed).length;
  if (work.commands.length > 0) parts.push(['commands passed', passed, work.commands.length]);
  const topics = Object.keys(work.decisions).length;
  if (topics > 0)
    parts.push(['decisions without conflict', topics - work.conflicts.length, topics]);
  const value = parts.reduce((sum, [, good, all]) => sum + good / all, 0) / parts.length;
  return {
    name: 'work',
    kind: 'builtin',
    weight,
    value,
    detail: `mean of ${parts.map(([name, good, all]) => `${name} ${good}/${all}`).join(', ')}`,
  };
}

/** Advice about the work: commands that failed, topics in conflict, tasks that produced nothing. */
export function workAdvice(work: ProducedWork): Recommendation[] {
  const advice: Recommendation[] = [];
  for (const command of work.commands.filter((c) => !c.passed)) {
    advice.push({
      kind: 'failed-command',
      taskId: command.taskId,
      agent: command.agent,
      message: `Task "${command.taskId}" (agent "${command.agent}") ran \`${command.command}\`, which ended with ${command.exitCode === null ? 'no exit code (killed)' : `exit code ${command.exitCode}`}: read its output in the task's tool results and fix what it reports.`,
    });
  }
  for (const conflict of work.conflicts) {
    const versions = conflict.decisions.map((d) => `"${d.decision}" (${d.by})`).join(' vs ');
    advice.push({
      kind: 'decision-conflict',
      message: `Agents disagreed on "${conflict.topic}": ${versions}. Have the planner decide it up front, or tell the later agents to follow the recorded decision.`,
    });
  }
  const worked = new Set(work.tasksWithWork);
  for (const taskId of work.toolTasks.filter((id) => !worked.has(id))) {
    advice.push({
      kind: 'no-work',
      taskId,
      message: `Task "${taskId}" completed without writing a file, running a command or recording a decision: if it was meant to deliver files, check that its model calls tools rather than describing them (see docs/llm.md, "Local models").`,
    });
  }
  return advice;
}
