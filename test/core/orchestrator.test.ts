import { afterEach, describe, expect, it } from 'vitest';
import {
  type AgentDefinition,
  createRuntime,
  type Planner,
  type Runtime,
  SPECIALIST_PRESETS,
  SPECIALIST_ROLES,
  specialist,
  type WorkflowDefinition,
} from '../../src/index.js';
import { agent, expectTroupeError, specialists } from './helpers.js';

const SEARCH_TASK = 'Create a search API with Elasticsearch';
const SEARCH_REQUIREMENTS = {
  endpoint: '/api/search',
  method: 'POST',
  elasticsearch_index: 'planning_applications',
};

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

const shape = (plan: WorkflowDefinition) =>
  plan.tasks.map((t) => ({ id: t.id, agent: t.agent, dependsOn: t.dependsOn }));

describe('ORCH-001 initialization', () => {
  it('ORCH-001 registers the 8 specialist presets as live agent actors beside the orchestrator', async () => {
    rt = await createRuntime({ dataDir: false, agents: specialists() });
    const system = rt.actor.system;

    for (const role of SPECIALIST_ROLES) {
      const ref = system.get(`agent:${role}`);
      expect(ref, `agent:${role}`).toBeDefined();
      const snapshot = ref!.getSnapshot();
      expect(snapshot.status).toBe('active');
      expect(snapshot.value).toBe('idle');
      expect(snapshot.context).toMatchObject({ role, concurrency: 1, running: 0 });
    }
    const orchestrator = system.get('orchestrator');
    expect(orchestrator).toBeDefined();
    expect(orchestrator!.getSnapshot()).toMatchObject({ status: 'active', value: 'idle' });

    const profiles = rt.profiles();
    expect(profiles.map((p) => p.role).sort()).toEqual([...SPECIALIST_ROLES].sort());
    for (const profile of profiles) {
      const preset = SPECIALIST_PRESETS[profile.role as keyof typeof SPECIALIST_PRESETS];
      expect(profile).toEqual({
        role: preset.role,
        displayName: preset.displayName,
        expertise: preset.expertise,
        stage: preset.stage,
      });
      expect(preset.systemPrompt.length).toBeGreaterThan(20);
    }
  });

  it('ORCH-001 adds agents after creation, rejects a duplicate role, and refuses work once closed', async () => {
    rt = await createRuntime({ dataDir: false });
    expect(rt.actor.system.get('agent:backend')).toBeUndefined();
    rt.registerAgent(specialist('backend', () => 'ok'));
    expect(rt.actor.system.get('agent:backend')).toBeDefined();

    const duplicate = await expectTroupeError(
      () => rt!.registerAgent(specialist('backend', () => 'again')),
      'DUPLICATE_AGENT',
    );
    expect(duplicate.message).toContain('"backend"');

    await rt.close();
    await rt.close(); // idempotent
    await expectTroupeError(() => rt!.registerAgent(agent('late', () => 1)), 'RUNTIME_CLOSED');
  });
});

describe('ORCH-002 decomposition', () => {
  it('ORCH-002 plans the seed request: elasticsearch (data) first, then backend depending on it, then QA for the code change', async () => {
    rt = await createRuntime({ dataDir: false, agents: specialists() });
    const plan = await rt.orchestrator.decomposeTask(SEARCH_TASK, SEARCH_REQUIREMENTS);

    // Scoring over "create a search api with elasticsearch endpoint api search
    // method post elasticsearch index planning applications": backend matches
    // api, endpoint, method, post; elasticsearch matches elasticsearch, index,
    // search; no other preset has a keyword there.
    expect(shape(plan)).toEqual([
      { id: 'elasticsearch', agent: 'elasticsearch', dependsOn: [] },
      { id: 'backend', agent: 'backend', dependsOn: ['elasticsearch'] },
      { id: 'qa', agent: 'qa', dependsOn: ['backend'] },
    ]);
    expect(plan.tasks[0]!.input).toEqual({
      requirements: SEARCH_REQUIREMENTS,
      matchedKeywords: ['elasticsearch', 'index', 'search'],
      rationale: 'the request mentions elasticsearch, index, search and asks to build',
    });
    expect(plan.tasks[1]!.input).toMatchObject({
      matchedKeywords: ['api', 'endpoint', 'method', 'post'],
    });
    expect(plan.tasks[1]!.description).toBe(`Backend Engineer: ${SEARCH_TASK}`);
    expect(plan.name).toBe('create-a-search-api-with-elasticsearch');
    expect(plan.metadata).toMatchObject({ planner: 'heuristic', intents: ['build'] });

    // The plan is a valid definition and runs in stage order.
    const result = await rt.orchestrator.executeWorkflow(plan, { project: 'Planning Explorer' });
    expect(result.status).toBe('completed');
    expect(result.tasks.elasticsearch!.finishedAt!).toBeLessThanOrEqual(
      result.tasks.backend!.startedAt!,
    );
    expect(result.tasks.backend!.output).toEqual({ role: 'backend', task: 'backend' });
  });

  it('ORCH-002 orders stages data -> backend -> frontend -> verify (qa, security) -> docs', async () => {
    rt = await createRuntime({ dataDir: false, agents: specialists() });
    const plan = await rt.orchestrator.decomposeTask(
      'Build a React search page over a new API endpoint and index mapping, with tests, a security audit and documentation',
      {},
    );
    expect(shape(plan)).toEqual([
      { id: 'elasticsearch', agent: 'elasticsearch', dependsOn: [] },
      { id: 'backend', agent: 'backend', dependsOn: ['elasticsearch'] },
      { id: 'frontend', agent: 'frontend', dependsOn: ['backend'] },
      // Verify stage: higher score first, then by name (qa and security score 2 each).
      { id: 'qa', agent: 'qa', dependsOn: ['frontend'] },
      { id: 'security', agent: 'security', dependsOn: ['frontend'] },
      // Docs depend on every task of the nearest earlier stage.
      { id: 'docs', agent: 'docs', dependsOn: ['qa', 'security'] },
    ]);
    // A stage with no matching agent is bridged: frontend missing -> qa waits on backend.
    const noUi = await rt.orchestrator.decomposeTask('Add an API endpoint and write tests', {});
    expect(shape(noUi)).toEqual([
      { id: 'backend', agent: 'backend', dependsOn: [] },
      { id: 'qa', agent: 'qa', dependsOn: ['backend'] },
    ]);
  });

  it('ORCH-002 is deterministic: the same request gives the same plan, whatever the registration order', async () => {
    rt = await createRuntime({ dataDir: false, agents: specialists() });
    const first = await rt.orchestrator.decomposeTask(SEARCH_TASK, SEARCH_REQUIREMENTS);
    const second = await rt.orchestrator.decomposeTask(SEARCH_TASK, SEARCH_REQUIREMENTS);
    expect(second).toEqual(first);

    const reversed = await createRuntime({ dataDir: false, agents: specialists().reverse() });
    try {
      expect(await reversed.orchestrator.decomposeTask(SEARCH_TASK, SEARCH_REQUIREMENTS)).toEqual(
        first,
      );
    } finally {
      await reversed.close();
    }
  });

  it('ORCH-002 tie rule: within a stage, higher score first, then role name alphabetically', async () => {
    const make = (role: string, expertise: string[]): AgentDefinition =>
      agent(role, () => role, { expertise });
    rt = await createRuntime({
      dataDir: false,
      agents: [
        make('zeta', ['widget']),
        make('alpha', ['widget']),
        make('mid', ['widget', 'gadget']),
      ],
    });
    const plan = await rt.orchestrator.decomposeTask('Make a widget', {});
    // Equal scores (1 each): alphabetical; one stage, so no dependencies.
    expect(shape(plan)).toEqual([
      { id: 'alpha', agent: 'alpha', dependsOn: [] },
      { id: 'mid', agent: 'mid', dependsOn: [] },
      { id: 'zeta', agent: 'zeta', dependsOn: [] },
    ]);
    const scored = await rt.orchestrator.decomposeTask('Make a widget and a gadget', {});
    expect(scored.tasks.map((t) => t.id)).toEqual(['mid', 'alpha', 'zeta']);
    // Requirements count too: keys and string values.
    const viaRequirements = await rt.orchestrator.decomposeTask('Make something', {
      gadget: 'widget',
    });
    expect(viaRequirements.tasks.map((t) => t.id)).toEqual(['mid', 'alpha', 'zeta']);
  });

  it('ORCH-002 falls back to the generalist (backend) when nothing matches, and says so', async () => {
    rt = await createRuntime({ dataDir: false, agents: specialists() });
    const plan = await rt.orchestrator.decomposeTask('Paint the garden fence green', {});
    expect(shape(plan)).toEqual([
      { id: 'backend', agent: 'backend', dependsOn: [] },
      { id: 'qa', agent: 'qa', dependsOn: ['backend'] },
    ]);
    expect(plan.metadata.note).toMatch(/no agent expertise matched/);
  });

  it('ORCH-002 rejects a plan that uses an unknown role with PLANNER_FAILED naming the role', async () => {
    const badPlanner: Planner = {
      name: 'rogue',
      plan: async () => ({
        name: 'rogue-plan',
        tasks: [{ id: 'spell', agent: 'wizard', description: 'cast' }],
      }),
    };
    rt = await createRuntime({ dataDir: false, agents: specialists(), planner: badPlanner });
    const error = await expectTroupeError(
      () => rt!.orchestrator.decomposeTask(SEARCH_TASK, SEARCH_REQUIREMENTS),
      'PLANNER_FAILED',
    );
    expect(error.message).toContain('Planner "rogue" returned an invalid plan');
    expect(error.message).toContain('unknown agent role "wizard"');
    expect(error.message).toContain('known roles: ai, backend, devops, docs');
    // The orchestrator is still usable: nothing else stopped.
    expect(rt.actor.system.get('orchestrator')!.getSnapshot()).toMatchObject({
      status: 'active',
      value: 'idle',
    });
  });

  it('ORCH-002 reports a planner that throws as PLANNER_FAILED with its message', async () => {
    const broken: Planner = {
      name: 'broken',
      plan: async () => {
        throw new Error('model unreachable');
      },
    };
    rt = await createRuntime({ dataDir: false, agents: specialists(), planner: broken });
    const error = await expectTroupeError(
      () => rt!.orchestrator.decomposeTask(SEARCH_TASK, {}),
      'PLANNER_FAILED',
    );
    expect(error.message).toBe('Planner "broken" failed: model unreachable');
  });

  it('ORCH-002 rejects bad input before planning', async () => {
    rt = await createRuntime({ dataDir: false, agents: specialists() });
    const empty = await expectTroupeError(
      () => rt!.orchestrator.decomposeTask('', SEARCH_REQUIREMENTS),
      'INVALID_INPUT',
    );
    expect(empty.message).toContain('description: must be a non-empty task description');
    await expectTroupeError(() => rt!.orchestrator.decomposeTask('   ', {}), 'INVALID_INPUT');
    const badRequirements = await expectTroupeError(
      () => rt!.orchestrator.decomposeTask('Build it', 'nope' as unknown as Record<string, never>),
      'INVALID_INPUT',
    );
    expect(badRequirements.message).toContain('requirements');

    const bare = await createRuntime({ dataDir: false });
    try {
      const none = await expectTroupeError(
        () => bare.orchestrator.decomposeTask(SEARCH_TASK, {}),
        'UNKNOWN_AGENT',
      );
      expect(none.message).toContain('no agents are registered');
    } finally {
      await bare.close();
    }
  });
});
