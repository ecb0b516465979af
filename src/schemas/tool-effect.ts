/**
 * What a tool call changed in the world, recorded beside the call in an LLM
 * agent's output (`toolCalls[].effect`): a file written, a command run, a
 * decision recorded. Plain JSON, so the evaluator can judge the work a run
 * produced from the stored result alone, long after the run.
 */
import { z } from 'zod';

export const toolEffectSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('file'),
    /** Path relative to the workspace root. */
    path: z.string(),
    bytes: z.number().int().min(0),
    appended: z.boolean(),
  }),
  z.object({
    kind: z.literal('command'),
    /** The program and its arguments, joined by spaces. */
    command: z.string(),
    /** Null when the program was killed (timeout, signal). */
    exitCode: z.number().int().nullable(),
    timedOut: z.boolean(),
  }),
  z.object({
    kind: z.literal('decision'),
    topic: z.string(),
    decision: z.string(),
  }),
]);
/** A file written, a command run or a decision recorded by one tool call. */
export type ToolEffect = z.infer<typeof toolEffectSchema>;
