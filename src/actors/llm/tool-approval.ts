import { z } from 'zod';
import { TroupeError } from '../../errors.js';
import { formatZodIssues } from '../../schemas/validate.js';
import type { LlmTool } from './define-tool.js';

/** A kind of call that needs no person: all the fields given must match. */
export interface ApprovalRule {
  /** The tool's name. */
  tool: string;
  /**
   * Glob the call's `path` argument must match, relative to the workspace:
   * `*` and `?` stay within a folder, `**` crosses folders (`src/**`).
   */
  path?: string;
  /** Pattern the call's command line (`command` and `args` joined by spaces) must match, e.g. `/^npm test( |$)/`. */
  command?: RegExp;
  /** Any other test of the call's parsed arguments. */
  when?: (args: Readonly<Record<string, unknown>>) => boolean;
}

/** Options of `defineLlmAgent({ approvals })`: which tool calls wait for a person. */
export interface ApprovalOptions {
  /**
   * Tools whose calls wait for a person, besides tools marked
   * `needsApproval` (which always do). Names of MCP tools (`server__tool`) work too.
   * @default ['write_file', 'run_command']
   */
  tools?: readonly string[];
  /** Calls that go through without a person (routine work). @default [] */
  allow?: readonly ApprovalRule[];
  /**
   * How long a person has to answer; past it the call counts as rejected
   * and the model is told so. The deadline survives a restart.
   * @default no deadline
   */
  timeoutMs?: number;
}

const approvalOptionsSchema = z.strictObject({
  tools: z.array(z.string().min(1)).default(['write_file', 'run_command']),
  allow: z
    .array(
      z.strictObject({
        tool: z.string().min(1),
        path: z.string().min(1).optional(),
        command: z.instanceof(RegExp, { error: 'must be a RegExp' }).optional(),
        when: z
          .custom<ApprovalRule['when']>(
            (value) => typeof value === 'function',
            'must be a function',
          )
          .optional(),
      }),
    )
    .default([]),
  timeoutMs: z.number().int().positive().optional(),
});

/** What the loop does with one call: run it, run it because a rule allows it, or ask a person. */
export type ApprovalDecision = 'none' | 'allowed' | 'ask';

/** An agent's approval policy with its defaults applied. */
export interface ApprovalPolicy {
  decide(tool: LlmTool, args: string): ApprovalDecision;
  readonly timeoutMs: number | undefined;
  /** True when some tool of the agent may wait for a person (the loop then journals its turns). */
  readonly mayAsk: boolean;
}

/** The answer a person gives: the same shape as an `approval` task's, so `troupe approve` / `reject` work. */
export const approvalAnswerSchema = z.object({
  approved: z.boolean(),
  reason: z.string().optional(),
  by: z.string().optional(),
});
export type ApprovalAnswer = z.infer<typeof approvalAnswerSchema>;

/**
 * Builds the policy of an agent from its tools and `approvals` option.
 * Without the option only tools marked `needsApproval` ask.
 * @throws TroupeError `INVALID_INPUT` naming each bad field.
 */
export function approvalPolicy(
  options: ApprovalOptions | undefined,
  tools: readonly LlmTool[],
  where: string,
): ApprovalPolicy {
  const parsed = approvalOptionsSchema.safeParse(options ?? { tools: [] });
  if (!parsed.success) {
    const issues = formatZodIssues(parsed.error, 'approvals');
    throw new TroupeError('INVALID_INPUT', `${where}: ${issues.join('; ')}`, { issues });
  }
  const named = new Set(parsed.data.tools);
  const rules = parsed.data.allow.map((rule) => ({
    ...rule,
    path: rule.path === undefined ? undefined : globToRegExp(rule.path),
  }));
  const asks = (tool: LlmTool) => tool.needsApproval === true || named.has(tool.name);
  return {
    timeoutMs: parsed.data.timeoutMs,
    mayAsk: tools.some(asks),
    decide(tool, argumentsJson) {
      if (!asks(tool)) return 'none';
      const args = parseObject(argumentsJson);
      if (!args) return 'ask';
      const allowed = rules.some(
        (rule) =>
          rule.tool === tool.name &&
          (rule.path === undefined ||
            (typeof args.path === 'string' && rule.path.test(normalPath(args.path)))) &&
          (rule.command === undefined ||
            (typeof args.command === 'string' && rule.command.test(commandLine(args)))) &&
          (rule.when === undefined || rule.when(args) === true),
      );
      return allowed ? 'allowed' : 'ask';
    },
  };
}

function parseObject(json: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(json);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function commandLine(args: Record<string, unknown>): string {
  const rest = Array.isArray(args.args) ? args.args.map(String) : [];
  return [String(args.command), ...rest].join(' ');
}

/** `./src//a.ts` and `src/a.ts` are one path; a `..` anywhere never matches a rule (the glob cannot say where it leads). */
function normalPath(path: string): string {
  const parts = path.split(/[\\/]+/).filter((part) => part !== '' && part !== '.');
  return parts.includes('..') ? '\0' : parts.join('/');
}

/** `**` any folders, `*` and `?` within one folder; everything else literal. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*' && glob[i + 1] === '*') {
      // `**/` also matches no folder at all.
      source += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
