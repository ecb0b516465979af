import type { WorkflowDefinitionInput } from '../../schemas/workflow-definition.js';

/**
 * The demo's workflow: scan, then line counting in parallel shards beside a
 * secret scan, then the report. `advice` runs only if secrets were found, so
 * on a clean folder it shows a conditional skip.
 */
export function demoWorkflow(
  options: { shards?: number; title?: string } = {},
): WorkflowDefinitionInput {
  const shards = options.shards ?? 4;
  const shardIds = Array.from({ length: shards }, (_, i) => `lines-${i + 1}`);
  return {
    name: 'codebase-report',
    description:
      'Scan a folder, count lines per language in parallel, flag likely secrets, write a Markdown report.',
    maxConcurrency: shards + 1,
    tasks: [
      { id: 'scan', agent: 'scanner', description: 'List the files of the folder' },
      ...shardIds.map((id, shard) => ({
        id,
        agent: 'metrics',
        description: `Count lines per language, shard ${shard + 1} of ${shards}`,
        input: { shard, shards },
        dependsOn: ['scan'],
        retry: { maxAttempts: 2 },
      })),
      {
        id: 'secrets',
        agent: 'security',
        description: 'Flag likely secrets by pattern',
        dependsOn: ['scan'],
      },
      {
        id: 'report',
        agent: 'docs',
        description: 'Write the Markdown report',
        input: { title: options.title ?? 'Codebase report' },
        dependsOn: ['scan', ...shardIds, 'secrets'],
      },
      {
        id: 'advice',
        agent: 'advisor',
        description: 'Explain how to handle the secrets found',
        dependsOn: ['secrets'],
        condition: { task: 'secrets', path: 'output.clean', equals: false },
      },
    ],
  };
}
