import {
  type AgentDefinition,
  type AgentOptions,
  type AgentRun,
  defineAgent,
} from './define-agent.js';

/** The eight specialist roles of a software delivery team. */
export const SPECIALIST_ROLES = [
  'backend',
  'elasticsearch',
  'ai',
  'frontend',
  'devops',
  'qa',
  'security',
  'docs',
] as const;
/** The roles of the eight specialist presets (`specialist(role, run)`). */
export type SpecialistRole = (typeof SPECIALIST_ROLES)[number];

type Preset = Required<
  Pick<AgentOptions, 'role' | 'displayName' | 'expertise' | 'stage' | 'systemPrompt'>
>;

const prompt = (who: string, duties: string) =>
  `You are the ${who} of a software team. ${duties} Work only inside the workspace you are given, ` +
  'state the assumptions you make, and finish with a short summary of what you produced and what is left.';

/**
 * Presets: role, display name, the expertise keywords the heuristic planner
 * scores against, the planner stage, and a system prompt for LLM use.
 */
export const SPECIALIST_PRESETS: Readonly<Record<SpecialistRole, Preset>> = {
  backend: {
    role: 'backend',
    displayName: 'Backend Engineer',
    stage: 'backend',
    expertise: [
      'api',
      'endpoint',
      'rest',
      'graphql',
      'server',
      'backend',
      'route',
      'service',
      'database',
      'auth',
      'fastapi',
      'express',
      'method',
      'post',
      'get',
    ],
    systemPrompt: prompt(
      'backend engineer',
      'You design and implement APIs, services and data access, with input validation, error handling and tests.',
    ),
  },
  elasticsearch: {
    role: 'elasticsearch',
    displayName: 'Elasticsearch Architect',
    stage: 'data',
    expertise: [
      'elasticsearch',
      'es',
      'index',
      'mapping',
      'search',
      'query',
      'analyzer',
      'aggregation',
      'schema',
      'vector',
      'knn',
      'shard',
    ],
    systemPrompt: prompt(
      'Elasticsearch architect',
      'You design indices, mappings, analyzers and queries, including vector search, and keep them efficient at scale.',
    ),
  },
  ai: {
    role: 'ai',
    displayName: 'AI Engineer',
    stage: 'backend',
    expertise: [
      'ai',
      'llm',
      'embedding',
      'embeddings',
      'semantic',
      'rag',
      'model',
      'prompt',
      'openai',
      'vector',
      'classification',
      'summarise',
      'summarize',
    ],
    systemPrompt: prompt(
      'AI engineer',
      'You build LLM and embedding features: prompts, retrieval, evaluation and cost control.',
    ),
  },
  frontend: {
    role: 'frontend',
    displayName: 'Frontend Specialist',
    stage: 'frontend',
    expertise: [
      'frontend',
      'ui',
      'component',
      'react',
      'page',
      'css',
      'form',
      'bar',
      'view',
      'accessibility',
      'next.js',
      'client',
    ],
    systemPrompt: prompt(
      'frontend specialist',
      'You build accessible, responsive UI components and pages that call the team’s APIs.',
    ),
  },
  devops: {
    role: 'devops',
    displayName: 'DevOps Specialist',
    stage: 'verify',
    expertise: [
      'deploy',
      'deployment',
      'docker',
      'kubernetes',
      'ci',
      'pipeline',
      'infrastructure',
      'monitoring',
      'devops',
      'terraform',
      'scaling',
    ],
    systemPrompt: prompt(
      'DevOps specialist',
      'You write build, deployment and monitoring configuration and keep releases reproducible.',
    ),
  },
  qa: {
    role: 'qa',
    displayName: 'QA Engineer',
    stage: 'verify',
    expertise: [
      'test',
      'tests',
      'testing',
      'qa',
      'quality',
      'regression',
      'e2e',
      'coverage',
      'validation',
      'bug',
    ],
    systemPrompt: prompt(
      'QA engineer',
      'You write and run tests that prove the feature works, including edge cases and regressions.',
    ),
  },
  security: {
    role: 'security',
    displayName: 'Security Auditor',
    stage: 'verify',
    expertise: [
      'security',
      'auth',
      'authentication',
      'authorization',
      'vulnerability',
      'owasp',
      'secret',
      'secrets',
      'encryption',
      'audit',
      'injection',
      'permissions',
    ],
    systemPrompt: prompt(
      'security auditor',
      'You review designs and code for vulnerabilities, leaked secrets and unsafe defaults, and say how to fix each.',
    ),
  },
  docs: {
    role: 'docs',
    displayName: 'Docs Writer',
    stage: 'docs',
    expertise: [
      'docs',
      'documentation',
      'readme',
      'guide',
      'tutorial',
      'reference',
      'changelog',
      'report',
      'markdown',
    ],
    systemPrompt: prompt(
      'documentation writer',
      'You write clear guides and reference pages with runnable examples, true to the code.',
    ),
  },
};

/** A specialist agent: a preset with the behaviour you give it. */
export function specialist<TOutput>(
  role: SpecialistRole,
  run: AgentRun<TOutput>,
  overrides: Partial<Omit<AgentOptions<TOutput>, 'role' | 'run'>> = {},
): AgentDefinition<TOutput> {
  return defineAgent({ ...SPECIALIST_PRESETS[role], ...overrides, run });
}
