import type { z } from 'zod';

/**
 * The zod schemas of the waits open in this process, so `engine.signal`
 * checks an answer with the agent's own schema (refinements included) and
 * refuses a bad one at the caller. A wait whose agent is not live here is
 * checked against the JSON Schema stored with it.
 */
export class WaitSchemas {
  private readonly schemas = new Map<string, z.ZodType>();

  set(workflowId: string, name: string, schema: z.ZodType): void {
    this.schemas.set(key(workflowId, name), schema);
  }

  get(workflowId: string, name: string): z.ZodType | undefined {
    return this.schemas.get(key(workflowId, name));
  }

  delete(workflowId: string, name: string): void {
    this.schemas.delete(key(workflowId, name));
  }
}

/** NUL cannot occur in a workflow id or a wait name. */
function key(workflowId: string, name: string): string {
  return `${workflowId}\u0000${name}`;
}
