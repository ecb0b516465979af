import path from 'node:path';
import { demoAgents } from '../../actors/demo/demo-agents.js';
import { demoWorkflow } from '../../actors/demo/demo-workflow.js';
import { createRuntime } from '../../runtime/runtime.js';
import { validateDefinition } from '../../schemas/validate.js';
import { type CliIo, runWithProgress } from '../cli-io.js';
import { announceInspector, holdForInspector, inspectorOption } from '../inspect-option.js';

export interface DemoArgs {
  dir: string;
  outDir: string;
  dataDir: string | false;
  json: boolean;
  /** Serve the live inspector on this port (0: any free one) and stay up after the run until Ctrl-C. */
  inspect?: number;
}

/** `troupe demo [dir]`: a real multi-agent workflow over a folder, offline. */
export async function demoCommand(args: DemoArgs, io: CliIo): Promise<number> {
  const root = path.resolve(args.dir);
  const outDir = path.resolve(args.outDir);
  const rt = await createRuntime({
    dataDir: args.dataDir,
    agents: demoAgents({ root, outDir }),
    ...inspectorOption(args.inspect),
  });
  try {
    announceInspector(rt, io);
    const definition = validateDefinition(
      demoWorkflow({ title: `Report on ${path.basename(root)}` }),
      {
        roles: new Set(rt.profiles().map((p) => p.role)),
      },
    );
    if (!args.json) io.out.write(`troupe demo: ${definition.tasks.length} tasks over ${root}\n\n`);
    const result = await runWithProgress(rt, definition, io, { json: args.json });
    const report = result.tasks.report?.output as { path?: string } | undefined;
    if (args.json) io.out.write(`${JSON.stringify(result, null, 2)}\n`);
    else if (report?.path) io.out.write(`Report: ${report.path}\n`);
    await holdForInspector(rt, io);
    return result.success ? 0 : 1;
  } finally {
    await rt.close();
  }
}
