/** `troupe demo [dir]`: a real multi-agent workflow over a folder, offline. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { runWithProgress } from '../cli-io.js';
import { type Command, stringOption, UsageError } from '../command.js';
import { EXIT } from '../exit-codes.js';
import {
  announceInspector,
  expandInspectFlag,
  holdForInspector,
  INSPECT_OPTION,
  parseInspectPort,
} from '../inspect-option.js';

export const demo: Command = {
  name: 'demo',
  summary: 'run the offline demo over a folder (default: .)',
  args: '[dir]',
  positionals: { min: 0, max: 1 },
  options: {
    out: {
      type: 'string',
      value: '<dir>',
      description: 'where the report is written (default: troupe-report)',
    },
    inspect: INSPECT_OPTION,
  },
  description:
    'Scans the folder, counts lines per language in parallel, looks for likely secrets and writes a\nMarkdown report, with live progress. Needs no network and no API key.',
  examples: ['troupe demo', 'troupe demo src --out report --data-dir .troupe-demo'],
  preprocess: expandInspectFlag,
  async run({ values, positionals }, ctx) {
    const root = path.resolve(positionals[0] ?? '.');
    const folder = await stat(root).catch(() => undefined);
    if (!folder?.isDirectory()) {
      throw new UsageError(`needs a folder to report on; ${root} is not one`);
    }
    const inspect = parseInspectPort(stringOption(values, 'inspect'));
    const outDir = path.resolve(stringOption(values, 'out') ?? 'troupe-report');
    const [{ demoWorkflow }, { validateDefinition }, { runtimeFor, withLaunch }] =
      await Promise.all([
        import('../../actors/demo/demo-workflow.js'),
        import('../../schemas/validate.js'),
        import('../launch.js'),
      ]);
    const launch = { command: 'demo' as const, dir: root, out: outDir };
    const rt = await runtimeFor(launch, { location: ctx, inspect });
    try {
      announceInspector(rt, ctx.io);
      const definition = withLaunch(
        validateDefinition(demoWorkflow({ title: `Report on ${path.basename(root)}` }), {
          roles: new Set(rt.profiles().map((p) => p.role)),
        }),
        launch,
      );
      if (!ctx.json) {
        ctx.io.out.write(`troupe demo: ${definition.tasks.length} tasks over ${root}\n\n`);
      }
      const outcome = await runWithProgress(
        rt,
        definition,
        () => rt.engine.start(definition),
        ctx.io,
        ctx,
      );
      if ('interrupted' in outcome) return outcome.exitCode;
      const { result } = outcome;
      const report = result.tasks.report?.output as { path?: string } | undefined;
      if (ctx.json) ctx.io.out.write(`${JSON.stringify(result, null, 2)}\n`);
      else if (report?.path) ctx.io.out.write(`Report: ${report.path}\n`);
      await holdForInspector(rt, ctx.io);
      return result.success ? EXIT.ok : EXIT.failed;
    } finally {
      await rt.close();
    }
  },
};
