/**
 * Checks of the communicator's arguments. Each failure is a `TroupeError`
 * `INVALID_INPUT` naming the method and the argument, thrown before anything
 * reaches the actor.
 */
import { TroupeError } from '../../errors.js';
import { workflowIdSchema } from '../../schemas/agent-message.js';

/**
 * A duration in ms. Waits (`infinite`) take any number >= 0 or `Infinity`;
 * a lease must be positive and finite, or a crashed holder blocks forever.
 * @throws TroupeError `INVALID_INPUT` naming the option.
 */
export function checkDuration(name: string, value: unknown, infinite: boolean): number {
  const ok =
    typeof value === 'number' && (infinite ? value >= 0 : value > 0 && Number.isFinite(value));
  if (!ok) {
    const allowed = infinite ? 'a number of ms >= 0, or Infinity' : 'a finite number of ms > 0';
    throw new TroupeError(
      'INVALID_INPUT',
      `Invalid ${name} ${String(value)}: expected ${allowed}.`,
      { issues: [`${name}: must be ${allowed}`] },
    );
  }
  return value;
}

export function invalid(api: string, ...issues: string[]): TroupeError {
  return new TroupeError('INVALID_INPUT', `communicator.${api}: ${issues.join('; ')}`, { issues });
}

export function checkWorkflowId(api: string, workflowId: unknown): void {
  const parsed = workflowIdSchema.safeParse(workflowId);
  if (!parsed.success) {
    const reason = parsed.error.issues[0]?.message ?? 'invalid';
    throw invalid(api, `workflowId ${JSON.stringify(workflowId)}: ${reason}`);
  }
}

export function checkName(api: string, name: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(api, `${name}: must be a non-empty string`);
  }
}
