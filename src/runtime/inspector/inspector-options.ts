/**
 * The inspector's option objects, checked with zod before anything listens:
 * strict, so a misspelt key is an error, and typed, so `{ port: 'x' }` is a
 * TroupeError `INVALID_INPUT` naming the field and the fix, not a raw error
 * from `listen`.
 */
import { z } from 'zod';
import { parseArgument } from '../../schemas/parse-argument.js';
import type { InspectorServerOptions, RuntimeInspectorOptions } from './server.js';

const port = z
  .number()
  .int('must be an integer')
  .min(0, 'must be 0..65535 (0 picks a free port)')
  .max(65_535, 'must be 0..65535 (0 picks a free port)');
const positive = z.number().int('must be an integer').positive('must be > 0');

const runtimeShape = {
  port,
  host: z.string().min(1, 'must not be empty').optional(),
  token: z.string().min(8, 'must be at least 8 characters; omit it to get a random one').optional(),
  controls: z.boolean().optional(),
};

/** `createRuntime({ inspector })`. */
export const runtimeInspectorOptionsSchema = z.strictObject(runtimeShape);

/** `createInspectorServer(options)`: the runtime's fields plus the server's own. */
export const inspectorServerOptionsSchema = z.strictObject({
  ...runtimeShape,
  runtime: z.custom<InspectorServerOptions['runtime']>(
    (value) => typeof value === 'object' && value !== null,
    'must be the runtime to inspect',
  ),
  allowedOrigins: z.array(z.string()).readonly().optional(),
  batchMs: positive.optional(),
  maxEventsPerBatch: positive.optional(),
  ringSize: positive.optional(),
  maxClientFrameBytes: positive.optional(),
});

/** @throws TroupeError `INVALID_INPUT` naming `options.inspector.<field>` and the fix. */
export function parseRuntimeInspectorOptions(options: unknown): RuntimeInspectorOptions {
  return parseArgument(runtimeInspectorOptionsSchema, options, {
    method: 'createRuntime()',
    argument: 'options.inspector',
    fix: 'pass { port, host?, token?, controls? } with port 0..65535 (0 picks a free one), or leave inspector out',
  });
}

/** @throws TroupeError `INVALID_INPUT` naming `options.<field>` and the fix. */
export function parseInspectorServerOptions(options: unknown): InspectorServerOptions {
  return parseArgument(inspectorServerOptionsSchema, options, {
    method: 'createInspectorServer()',
    argument: 'options',
    fix: 'pass { port, runtime } and optionally host, token, controls, allowedOrigins, batchMs, maxEventsPerBatch, ringSize, maxClientFrameBytes',
  });
}
