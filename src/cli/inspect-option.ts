/**
 * `--inspect[=port]` of `troupe demo` and `troupe run`: serves the live
 * inspector while the command runs and prints its address. The address goes
 * to stderr, so `--json` output on stdout stays machine-readable.
 */
import type { Runtime } from '../runtime/runtime.js';
import type { RuntimeOptions } from '../runtime/runtime-options.js';
import type { CliIo } from './cli-io.js';
import { type OptionSpec, UsageError } from './command.js';
import { listenForInterrupt } from './interrupt.js';

/** The port of a bare `--inspect`; `--inspect=0` picks a free one. */
export const DEFAULT_INSPECTOR_PORT = 7420;

/** The `--inspect` option of the commands that run workflows. */
export const INSPECT_OPTION: OptionSpec = {
  type: 'string',
  value: '[=port]',
  description: `serve the live inspector (default port ${DEFAULT_INSPECTOR_PORT}, 0: any free port)`,
};

/** Node's `parseArgs` needs a value for a string option: a bare flag gets the default port. */
export function expandInspectFlag(argv: readonly string[]): string[] {
  return argv.map((arg) => (arg === '--inspect' ? `--inspect=${DEFAULT_INSPECTOR_PORT}` : arg));
}

/** The port of `--inspect=<port>`, or undefined without the flag. */
export function parseInspectPort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`--inspect takes a port number (0-65535), got "${value}"`);
  }
  return port;
}

/** The runtime option for a command's `--inspect` port. */
export function inspectorOption(port: number | undefined): Pick<RuntimeOptions, 'inspector'> {
  return port === undefined ? {} : { inspector: { port } };
}

export function announceInspector(rt: Runtime, io: CliIo): void {
  if (rt.inspector) io.err.write(`Inspector: ${rt.inspector.url}\n`);
}

/**
 * Keeps the process (and the inspector) alive after the run until Ctrl-C,
 * so the finished run can still be looked at. Without an inspector, returns.
 */
export async function holdForInspector(rt: Runtime, io: CliIo): Promise<void> {
  if (!rt.inspector) return;
  io.err.write(`Inspector still serving at ${rt.inspector.url} — press Ctrl-C to stop.\n`);
  const interruption = listenForInterrupt();
  await interruption.signal;
  interruption.dispose();
}
