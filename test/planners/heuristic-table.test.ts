/**
 * The heuristic planner on realistic requests: which specialists get a task,
 * decided by stemmed words, synonyms and the request's intent.
 */
import { describe, expect, it } from 'vitest';
import { SPECIALIST_PRESETS } from '../../src/actors/agents/specialists.js';
import { heuristicPlanner } from '../../src/actors/planners/heuristic-planner.js';
import { stem } from '../../src/actors/planners/request-words.js';

const agents = Object.values(SPECIALIST_PRESETS).map(({ role, displayName, expertise, stage }) => ({
  role,
  displayName,
  expertise,
  stage,
}));

const plan = (description: string) =>
  heuristicPlanner.plan({ description, requirements: {}, agents });

const TABLE: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['Create a search API with Elasticsearch integration', ['elasticsearch', 'backend', 'qa']],
  ['Write documentation for the search API', ['docs']],
  ['Refactor the billing module', ['backend', 'qa']],
  ['Build REST APIs for orders', ['backend', 'qa']],
  ['Add unit tests for the payment service', ['qa']],
  ['Deploy the search service to Kubernetes', ['devops']],
  ['Review the login flow for XSS and CSRF vulnerabilities', ['security']],
  ['Build a React dashboard that shows search results', ['elasticsearch', 'frontend', 'qa']],
  ['Implement semantic search with embeddings', ['elasticsearch', 'ai', 'qa']],
  ['Write a README for the CLI', ['docs']],
  ['Containerize the backend with Docker and set up a CI pipeline', ['devops']],
  ['Fix the bug in the checkout endpoint', ['backend', 'qa']],
  ['Audit the secrets handling in our deployment scripts', ['security', 'devops']],
  ['Create a chatbot that answers questions from our docs using an LLM', ['ai', 'qa', 'docs']],
  ['Add OAuth login to the API', ['backend', 'security', 'qa']],
  ['Design the index mappings for product search', ['elasticsearch', 'qa']],
  ['Explain how the ranking queries work in a guide', ['docs']],
  ['Write end-to-end tests for the signup page', ['qa']],
  ['Implement a Postgres-backed user service and document it', ['backend', 'qa', 'docs']],
  ['Refactor the React components of the settings page', ['frontend', 'qa']],
  ['Ship the new release to production with monitoring', ['devops']],
  [
    'Build a search page over a new API endpoint, with tests, a security audit and documentation',
    ['elasticsearch', 'backend', 'frontend', 'qa', 'security', 'docs'],
  ],
];

describe('heuristic planner: realistic requests', () => {
  it.each(TABLE)('%s -> %j', async (description, roles) => {
    const definition = await plan(description);
    expect(definition.tasks!.map((t) => t.agent)).toEqual(roles);
    for (const task of definition.tasks!) {
      expect(task.input).toMatchObject({ rationale: expect.any(String) });
    }
  });

  it('has at least 20 rows', () => expect(TABLE.length).toBeGreaterThanOrEqual(20));

  it('stems plurals and verb endings', () => {
    expect(
      ['apis', 'queries', 'testing', 'deployed', 'indexes', 'mapped', 'services'].map(stem),
    ).toEqual(['api', 'query', 'test', 'deploy', 'index', 'map', 'service']);
  });

  it('says why each task is there, and the intent', async () => {
    const definition = await plan('Refactor the billing module');
    expect(definition.metadata).toMatchObject({ planner: 'heuristic', intents: ['refactor'] });
    const [backend, qa] = definition.tasks!;
    expect(backend!.input!.rationale).toMatch(/generalist/);
    expect(qa!.input!.rationale).toMatch(/code changes get tests/);
    expect(qa!.dependsOn).toEqual(['backend']);
  });
});
