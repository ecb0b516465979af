/**
 * One error class for everything troupe throws on purpose. The `code` says what
 * went wrong in a way a program can switch on; the message says it in a way a
 * person can act on (which API, which entity, what to do about it).
 */
export type TroupeErrorCode =
  | 'INVALID_DEFINITION'
  | 'INVALID_INPUT'
  | 'INVALID_VALUE'
  | 'VALUE_TOO_LARGE'
  | 'UNKNOWN_AGENT'
  | 'DUPLICATE_AGENT'
  | 'WORKFLOW_NOT_FOUND'
  | 'WORKFLOW_NOT_FINISHED'
  | 'WORKFLOW_FINISHED'
  | 'TASK_TIMEOUT'
  | 'TASK_FAILED'
  | 'TASK_ABORTED'
  | 'RUNTIME_CLOSED'
  | 'STORE_LOCKED'
  | 'STORE_CORRUPT'
  | 'STORE_CLOSED'
  | 'STORE_WRITE_FAILED'
  | 'PLANNER_FAILED'
  | 'PLAN_ABORTED'
  | 'LLM_UNAVAILABLE'
  | 'BUDGET_EXCEEDED'
  | 'CONFIG_ERROR'
  | 'INVALID_JOB'
  | 'DUPLICATE_JOB'
  | 'JOB_NOT_FOUND'
  | 'JOB_TIMEOUT'
  | 'JOB_CANCELLED'
  | 'UNKNOWN_HANDLER'
  | 'QUEUE_STOPPED'
  | 'WAIT_TIMEOUT'
  | 'WAIT_NOT_FOUND'
  | 'INVALID_SIGNAL'
  | 'APPROVAL_REJECTED'
  | 'CHILD_FAILED'
  | 'INVALID_MESSAGE'
  | 'UNKNOWN_RECIPIENT'
  | 'REQUEST_TIMEOUT'
  | 'REQUEST_FAILED'
  | 'VERSION_CONFLICT'
  | 'LOCK_TIMEOUT'
  | 'LOCK_NOT_HELD'
  | 'MCP_UNAVAILABLE'
  | 'LOCK_ALREADY_HELD'
  | 'RUN_OWNERSHIP_LOST'
  | 'RUN_OWNED_ELSEWHERE'
  | 'REMOTE_CLAIM_LOST'
  | 'REMOTE_UNSUPPORTED';

export interface TroupeErrorContext {
  workflowId?: string;
  taskId?: string;
  agent?: string;
  /** Field paths and reasons, for validation errors. */
  issues?: readonly string[];
  [key: string]: unknown;
}

/** The error troupe throws on purpose: `code` to switch on, a message that names the API, the entity and the fix, `context` with the same facts as fields. Every code is in docs/errors.md. */
export class TroupeError extends Error {
  override readonly name: string = 'TroupeError';

  constructor(
    readonly code: TroupeErrorCode,
    message: string,
    readonly context: TroupeErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The JSON-safe shape an error takes once it is stored in a result or a journal. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(error.stack ? { stack: error.stack } : {}),
    };
  }
  return { name: 'NonError', message: typeof error === 'string' ? error : safeJson(error) };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
