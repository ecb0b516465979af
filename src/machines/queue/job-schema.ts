/**
 * zod schemas for jobs: the input of `enqueue()`/`schedule()` and the record
 * read back from the store. Every error names the field (`job.priority: ...`)
 * so a caller can fix the call without reading the queue's source.
 */
import { z } from 'zod';
import { TroupeError } from '../../errors.js';
import { durationMs, MAX_TIMER_MS } from '../../schemas/limits.js';
import type { JobHandler, JobInput, JobRecord } from './job.js';
import { JOB_STATUSES } from './job.js';
import type { AttemptRecord } from './stored-job.js';

const PRIORITY_MESSAGE = 'must be JobPriority.LOW (1), NORMAL (2), HIGH (3) or URGENT (4)';

/** Job ids become store keys, where `/` separates segments. */
export const jobIdSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(512, { error: 'must be at most 512 characters' })
  .refine((id) => !id.includes('/'), { error: "must not contain '/' (it separates store keys)" });

const prioritySchema = z.literal([1, 2, 3, 4], { error: PRIORITY_MESSAGE });

const backoffSchema = z.strictObject({
  initialDelayMs: durationMs(),
  factor: z
    .number({ error: 'must be a number' })
    .min(1, { error: 'must be >= 1' })
    .finite({ error: 'must be finite' }),
  maxDelayMs: durationMs(),
  jitter: z
    .number({ error: 'must be a number' })
    .min(0, { error: 'must be between 0 and 1' })
    .max(1, { error: 'must be between 0 and 1' }),
});

/** Shared with the queue options, which validate the default policy with it. */
export const backoffPolicySchema = backoffSchema;

const handlerSchema = z.union(
  [
    z.string().min(1),
    z.custom<JobHandler>((value) => typeof value === 'function', {
      error: 'must be a function',
    }),
  ],
  { error: 'must be a registered handler name (non-empty string) or a function' },
);

const jobInputSchema = z.strictObject({
  id: jobIdSchema.optional(),
  name: z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty' })
    .max(512, { error: 'must be at most 512 characters' }),
  handler: handlerSchema,
  args: z.array(z.unknown(), { error: 'must be an array' }).optional(),
  priority: prioritySchema.optional(),
  maxRetries: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(0, { error: 'must be >= 0' })
    .max(1000, { error: 'must be at most 1000' })
    .optional(),
  timeoutSeconds: z
    .number({ error: 'must be a number' })
    .positive({ error: 'must be > 0' })
    .max(MAX_TIMER_MS / 1000, {
      error: `must be at most ${MAX_TIMER_MS / 1000} (about 24.8 days, the longest delay a Node timer can wait)`,
    })
    .optional(),
  backoff: backoffSchema.partial().optional(),
});

const serializedErrorSchema = z.object({
  name: z.string(),
  message: z.string(),
  code: z.string().optional(),
  stack: z.string().optional(),
});

const attemptSchema = z.object({
  attempt: z.number().int().min(1),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  deadline: z.number().nullable(),
  outcome: z.enum(['running', 'completed', 'failed', 'timed_out', 'cancelled', 'interrupted']),
  error: serializedErrorSchema.nullable(),
});

/** A job record as read back from the store. */
export const jobRecordSchema = z.object({
  id: jobIdSchema,
  name: z.string(),
  handler: z.string().min(1).nullable(),
  args: z.array(z.unknown()),
  priority: prioritySchema,
  maxRetries: z.number().int().min(0),
  timeoutMs: z.number().positive().nullable(),
  backoff: backoffSchema,
  status: z.enum(JOB_STATUSES as [string, ...string[]]),
  seq: z.number().int().min(0),
  timerSeq: z.number().int().nullable(),
  createdAt: z.number(),
  runAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  attempts: z.array(attemptSchema),
  failures: z.number().int().min(0),
  progress: z
    .object({ value: z.number(), message: z.string().nullable(), at: z.number() })
    .nullable(),
  result: z.unknown().optional(),
  durable: z.boolean(),
});

function formatIssues(error: z.ZodError, root: string): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((part) =>
      typeof part === 'number' ? `[${part}]` : `.${String(part)}`,
    );
    return `${root}${path.join('')}: ${issue.message}`;
  });
}

/**
 * Validates a job handed to the queue.
 * @param api the public call, for the message (`'TaskQueue.enqueue()'`).
 * @throws TroupeError `INVALID_JOB` listing every bad field.
 */
export function parseJobInput(value: unknown, api: string): JobInput {
  const parsed = jobInputSchema.safeParse(value);
  if (parsed.success) return parsed.data as JobInput;
  const issues = formatIssues(parsed.error, 'job');
  const id = (value as { id?: unknown } | null)?.id;
  const which = typeof id === 'string' ? ` ${JSON.stringify(id)}` : '';
  throw new TroupeError(
    'INVALID_JOB',
    `${api} rejected job${which}: ${issues.join('; ')}.`,
    typeof id === 'string' ? { jobId: id, issues } : { issues },
  );
}

const attemptRecordSchema = z.object({
  attempt: z.number().int().min(1),
  startedAt: z.number(),
  deadline: z.number().nullable(),
  finishedAt: z.number().optional(),
  result: z.unknown().optional(),
});

/** What is stored under each kind of key of the `jobs` collection (see stored-job.ts). */
const STORED_SCHEMAS = {
  record: { schema: jobRecordSchema, what: 'job record' },
  attempt: { schema: attemptRecordSchema, what: 'job attempt record' },
} as const;

interface StoredJobParts {
  record: JobRecord;
  attempt: AttemptRecord;
}

/**
 * Validates a value read from the store under `key`, of the given kind.
 * @throws TroupeError `STORE_CORRUPT` naming the key and every bad field.
 */
export function parseStoredJobPart<K extends keyof StoredJobParts>(
  kind: K,
  value: unknown,
  key: string,
  jobId: string,
): StoredJobParts[K] {
  const { schema, what } = STORED_SCHEMAS[kind];
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as StoredJobParts[K];
  const issues = formatIssues(parsed.error, 'record');
  throw new TroupeError(
    'STORE_CORRUPT',
    `Stored ${what} ${JSON.stringify(key)} in collection 'jobs' is not valid (${issues.join('; ')}). It was left in place and not loaded; fix or delete it.`,
    { collection: 'jobs', key, jobId, issues },
  );
}

/**
 * Validates a job record read from the store.
 * @throws TroupeError `STORE_CORRUPT` naming the key and every bad field.
 */
export function parseJobRecord(value: unknown, key: string): JobRecord {
  return parseStoredJobPart('record', value, key, key);
}
