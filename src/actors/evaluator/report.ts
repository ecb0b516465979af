/**
 * The human-readable report of an evaluation (what `troupe eval` prints).
 * Pure: the same evaluation, regression report and history give the same
 * text, with no colour codes, so it can be piped, logged and tested.
 */
import { sparkline, table } from './chart.js';
import type { ScoreComponent, TaskEvaluation, WorkflowEvaluation } from './evaluation-schema.js';
import { formatDuration, formatPercent } from './format.js';
import type { ProducedWork } from './produced-work.js';
import type { RegressionReport } from './regression.js';

export interface ReportExtras {
  /** A regression check of this evaluation. */
  regression?: RegressionReport;
  /** Evaluations of the same workflow name, oldest first, for the trend chart. */
  trend?: readonly WorkflowEvaluation[];
}

/** Formats an evaluation (and optionally a regression report) as plain text, as `troupe eval` prints it. */
export function formatEvaluationReport(
  evaluation: WorkflowEvaluation,
  extras: ReportExtras = {},
): string {
  const lines = [
    `Evaluation of run ${evaluation.workflowId} ("${evaluation.workflowName}"), status ${evaluation.workflowStatus}`,
    `Grade: ${evaluation.grade}   Score: ${evaluation.score.toFixed(1)}/100`,
    '',
    ...metricLines(evaluation),
    '',
    'Tasks',
    ...table(taskRows(evaluation.tasks)).map(indent),
    ...(evaluation.work ? ['', ...workLines(evaluation.work)] : []),
    '',
    'Recommendations',
    ...(evaluation.recommendations.length > 0
      ? evaluation.recommendations.map((r, index) => `  ${index + 1}. ${r.message}`)
      : ['  None: nothing in this run calls for action.']),
  ];
  if (evaluation.notes.length > 0) {
    lines.push('', 'Notes', ...evaluation.notes.map((note) => `  - ${note}`));
  }
  if (extras.regression) lines.push('', ...regressionLines(extras.regression));
  if (extras.trend) lines.push('', ...trendLines(evaluation.workflowName, extras.trend));
  return `${lines.join('\n')}\n`;
}

function metricLines(evaluation: WorkflowEvaluation): string[] {
  const p = evaluation.performance;
  const q = evaluation.quality;
  const meant = p.taskCount - p.skippedTasks;
  const path = p.criticalPath.length > 0 ? ` (${p.criticalPath.join(' → ')})` : '';
  const pathSource = p.criticalPathSource === 'inferred' ? ', inferred from timing' : '';
  const ratio =
    p.criticalPathRatio === null ? '' : ` = ${formatPercent(p.criticalPathRatio)} of total`;
  const rows: Array<[string, string]> = [
    ['Total time', formatDuration(p.totalTimeMs)],
    [
      'Success rate',
      `${formatPercent(p.successRate)} (${p.completedTasks} of ${meant} tasks${p.skippedTasks > 0 ? `, ${p.skippedTasks} skipped` : ''})`,
    ],
    [
      'Task time',
      `mean ${maybeDuration(p.meanTaskTimeMs)} · p95 ${maybeDuration(p.p95TaskTimeMs)}`,
    ],
    [
      'Attempts',
      `${p.totalAttempts} (${p.totalRetries} ${p.totalRetries === 1 ? 'retry' : 'retries'})`,
    ],
    ['Critical path', `${formatDuration(p.criticalPathMs)}${ratio}${path}${pathSource}`],
    [
      'Parallelism',
      `peak ${p.peakConcurrency} · average ${maybeFixed(p.averageConcurrency)} · efficiency ${maybePercent(p.parallelEfficiency)}`,
    ],
    ['Error rate', `${formatPercent(q.errorRate)} of attempts failed`],
    ['First-try rate', maybePercent(q.firstAttemptRate)],
    [
      'Outputs',
      q.outputsChecked > 0
        ? `${q.outputsValid} of ${q.outputsChecked} valid`
        : 'no schemas declared',
    ],
    ['Score from', q.scoreBreakdown.map(describeComponent).join(' · ')],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return ['Metrics', ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)];
}

/** Files per agent, commands with their outcome, the decisions and any conflict. */
function workLines(work: ProducedWork): string[] {
  const byAgent = new Map<string, string[]>();
  for (const file of work.files) {
    byAgent.set(file.agent, [...(byAgent.get(file.agent) ?? []), file.path]);
  }
  const passed = work.commands.filter((c) => c.passed).length;
  const topics = Object.entries(work.decisions);
  const lines = [
    'Produced work',
    `  Files      ${work.files.length} written by ${byAgent.size} agent(s); ${work.tasksWithWork.length} of ${work.toolTasks.length} tool-using tasks produced something`,
    ...[...byAgent].map(([agent, paths]) => `    ${agent}: ${paths.join(', ')}`),
    `  Commands   ${work.commands.length === 0 ? 'none run' : `${passed} of ${work.commands.length} passed`}`,
    ...work.commands.map(
      (c) =>
        `    ${c.passed ? 'passed' : 'FAILED'}  ${c.command} (${c.agent}, task ${c.taskId}, exit ${c.exitCode ?? 'none'})`,
    ),
    `  Decisions  ${topics.length} recorded, ${work.conflicts.length === 0 ? 'no conflicts' : `${work.conflicts.length} in conflict`}`,
    ...topics.map(([topic, d]) => `    ${topic}: ${d.decision.replace(/\s+/g, ' ')} (${d.by})`),
    ...work.conflicts.map(
      (c) =>
        `    CONFLICT ${c.topic}: ${c.decisions.map((d) => `"${d.decision}" (${d.by})`).join(' vs ')}`,
    ),
  ];
  if (work.failedToolCalls > 0) {
    lines.push(
      `  Tool calls that failed: ${work.failedToolCalls} (sent back to the model as errors)`,
    );
  }
  return lines;
}

function describeComponent(component: ScoreComponent): string {
  const value = component.value === null ? 'n/a' : component.value.toFixed(2);
  return `${component.name} ${value} ×${component.weight}`;
}

function taskRows(tasks: readonly TaskEvaluation[]): string[][] {
  const header = ['TASK', 'AGENT', 'STATUS', 'TIME', 'TRIES', 'WAIT', 'OUTPUT', 'PATH'];
  return [
    header,
    ...tasks.map((task) => [
      task.taskId,
      task.agent,
      task.status,
      maybeDuration(task.durationMs),
      String(task.attempts),
      maybeDuration(task.waitMs),
      task.outputValid === undefined ? '-' : task.outputValid ? 'valid' : 'INVALID',
      task.onCriticalPath ? '*' : '',
    ]),
  ];
}

function regressionLines(report: RegressionReport): string[] {
  const title = `Regression check (baseline: last ${report.baselineCount} runs)`;
  if (report.insufficientHistory) return [title, `  ${report.summary}`];
  const lines = [title, `  ${report.summary}`];
  for (const detail of report.details) {
    lines.push(
      `  - ${detail.metric}: ${round(detail.current)} vs baseline mean ${round(detail.baselineMean)} ± ${round(detail.baselineStdDev)}; ${detail.rule}`,
    );
  }
  return lines;
}

function trendLines(workflowName: string, trend: readonly WorkflowEvaluation[]): string[] {
  if (trend.length < 2) {
    return [
      `Trend: only ${trend.length} evaluation(s) of "${workflowName}" stored; run it again to see a trend.`,
    ];
  }
  const scores = trend.map((evaluation) => evaluation.score);
  const durations = trend.map((evaluation) => evaluation.performance.totalTimeMs);
  const range = (values: number[], show: (value: number) => string) =>
    `min ${show(Math.min(...values))}  max ${show(Math.max(...values))}  latest ${show(values[values.length - 1]!)}`;
  const rows = [
    ['score', sparkline(scores), range(scores, (value) => value.toFixed(1))],
    ['duration', sparkline(durations), range(durations, formatDuration)],
  ];
  return [
    `Trend over the last ${trend.length} runs of "${workflowName}" (oldest → newest)`,
    ...table(rows, 200).map(indent),
  ];
}

function indent(line: string): string {
  return `  ${line}`;
}

function maybeDuration(ms: number | null): string {
  return ms === null ? '-' : formatDuration(ms);
}

function maybePercent(fraction: number | null): string {
  return fraction === null ? 'n/a' : formatPercent(fraction);
}

function maybeFixed(value: number | null): string {
  return value === null ? 'n/a' : value.toFixed(2);
}

function round(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}
