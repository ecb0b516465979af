/**
 * What the demo model does in each role of "Create a search API with
 * Elasticsearch integration": the plan with the decisions it starts, and each
 * specialist's tool calls, in rounds. Every round is computed from what the
 * request shows (the decisions in the task prompt, the results of earlier
 * tool calls, the tools offered), the way a real model works from its
 * context: the backend's code uses the index the Elasticsearch agent
 * recorded, QA tests the code it read, and reports the exit code it got.
 */
import type { ScriptedToolCall } from './scripted-replies.js';

/** What a role's script sees of the conversation. */
export interface DemoTurn {
  /** The decisions listed in the task prompt, topic to choice. */
  decisions: Readonly<Record<string, string>>;
  /** The results of the tool calls made so far, oldest first (as the model got them). */
  results: readonly string[];
  /** Names of the tools the request offers. */
  tools: ReadonlySet<string>;
}

/** One role's work: rounds of tool calls, then a final answer. */
export interface DemoRole {
  rounds: ReadonlyArray<(turn: DemoTurn) => ScriptedToolCall[]>;
  answer(turn: DemoTurn): string;
}

export const DEMO_PLAN = {
  rationale:
    'The index comes first because the API queries it; QA and the docs both build on the API and run in parallel.',
  tasks: [
    {
      id: 'search-index',
      agent: 'elasticsearch',
      description:
        'Design the Elasticsearch index of the searchable products: its name, mapping and cluster URL. Write the mapping to search/products-index.json and record the index name, the searched fields and the URL as decisions.',
      dependsOn: [],
    },
    {
      id: 'search-api',
      agent: 'backend',
      description:
        'Implement the search API: src/search-service.mjs (buildSearchRequest and search against the recorded index) and src/server.mjs (GET /api/search?q= on the recorded port). Record the endpoint.',
      dependsOn: ['search-index'],
    },
    {
      id: 'search-tests',
      agent: 'qa',
      description:
        'Write tests/search.test.mjs for the search service, run it with node --test, and report the result.',
      dependsOn: ['search-api'],
    },
    {
      id: 'search-docs',
      agent: 'docs',
      description:
        'Write README.md: how to start the API, the endpoint, and the index and fields it searches.',
      dependsOn: ['search-api'],
    },
  ],
  decisions: [
    {
      topic: 'stack',
      decision: 'Node.js 20 ES modules (.mjs) with no npm dependencies: node:http and fetch',
    },
    { topic: 'api.port', decision: '3000' },
    { topic: 'layout', decision: 'code in src/, tests in tests/, the index mapping in search/' },
  ],
};

const INDEX = 'products_v1';
const FIELDS = 'name^2, description';
const CLUSTER = 'http://localhost:9200';

const write = (path: string, content: string): ScriptedToolCall => ({
  name: 'write_file',
  arguments: { path, content },
});
const decide = (topic: string, decision: string): ScriptedToolCall => ({
  name: 'record_decision',
  arguments: { topic, decision },
});

/** A decision the role needs; a model would ask, the demo says what is missing. */
function needed(turn: DemoTurn, topic: string): string {
  const value = turn.decisions[topic];
  if (value === undefined) throw new Error(`the prompt records no decision on "${topic}"`);
  return value;
}

const elasticsearch: DemoRole = {
  rounds: [
    () => [
      write(
        'search/products-index.json',
        `${JSON.stringify(
          {
            settings: {
              number_of_shards: 1,
              analysis: { analyzer: { default: { type: 'english' } } },
            },
            mappings: {
              properties: {
                name: { type: 'text', fields: { keyword: { type: 'keyword' } } },
                description: { type: 'text' },
                price: { type: 'scaled_float', scaling_factor: 100 },
              },
            },
          },
          null,
          2,
        )}\n`,
      ),
      decide('search.index', INDEX),
      decide('search.fields', FIELDS),
      decide('search.url', CLUSTER),
    ],
  ],
  answer: () =>
    `Wrote search/products-index.json (english analyzer; name, description, price). Recorded search.index = ${INDEX}, search.fields = ${FIELDS}, search.url = ${CLUSTER}. Create the index with PUT ${CLUSTER}/${INDEX} and the mapping file as body.`,
};

function serviceCode(index: string, fields: string, cluster: string): string {
  const list = fields
    .split(',')
    .map((field) => `'${field.trim()}'`)
    .join(', ');
  return `// The search service: queries the Elasticsearch index recorded by the elasticsearch agent.
export const ELASTICSEARCH_URL = process.env.ELASTICSEARCH_URL ?? '${cluster}';
export const INDEX = '${index}';
export const FIELDS = [${list}];

/** The request for a text query: where to send it and the query body. */
export function buildSearchRequest(query, { size = 10 } = {}) {
  if (typeof query !== 'string' || query.trim() === '') {
    throw new TypeError('query must be a non-empty string');
  }
  return {
    url: \`\${ELASTICSEARCH_URL}/\${INDEX}/_search\`,
    body: { size, query: { multi_match: { query, fields: FIELDS } } },
  };
}

/** Runs the query against Elasticsearch and returns the hits' sources with their id and score. */
export async function search(query, options) {
  const { url, body } = buildSearchRequest(query, options);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(\`Elasticsearch answered \${response.status}\`);
  const json = await response.json();
  return json.hits.hits.map((hit) => ({ id: hit._id, score: hit._score, ...hit._source }));
}
`;
}

function serverCode(port: string): string {
  return `// GET /api/search?q=<text> -> { hits: [...] }
import { createServer } from 'node:http';
import { search } from './search-service.mjs';

const PORT = Number(process.env.PORT ?? ${port});

createServer(async (request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (request.method !== 'GET' || url.pathname !== '/api/search') {
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    return;
  }
  try {
    const hits = await search(url.searchParams.get('q') ?? '');
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hits }));
  } catch (error) {
    const status = error instanceof TypeError ? 400 : 502;
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: error.message }));
  }
}).listen(PORT, () => console.log(\`search API on http://localhost:\${PORT}/api/search\`));
`;
}

const backend: DemoRole = {
  rounds: [
    (turn) => [
      write(
        'src/search-service.mjs',
        serviceCode(
          needed(turn, 'search.index'),
          needed(turn, 'search.fields'),
          needed(turn, 'search.url'),
        ),
      ),
      write('src/server.mjs', serverCode(needed(turn, 'api.port'))),
      decide(
        'api.endpoint',
        'GET /api/search?q=<text> answers { hits: [{ id, score, ...source }] }',
      ),
      {
        name: 'send_message',
        arguments: {
          to: 'qa',
          text: 'src/search-service.mjs exports buildSearchRequest(query) and search(query).',
        },
      },
    ],
  ],
  answer: (turn) =>
    `Wrote src/search-service.mjs (index ${needed(turn, 'search.index')} at ${needed(turn, 'search.url')}) and src/server.mjs (port ${needed(turn, 'api.port')}); recorded api.endpoint.`,
};

/** The `content` of a read_file result, or '' if the result is not one. */
function fileContent(result: string | undefined): string {
  try {
    const parsed = JSON.parse(result ?? '') as { content?: unknown };
    return typeof parsed.content === 'string' ? parsed.content : '';
  } catch {
    return '';
  }
}

const qa: DemoRole = {
  rounds: [
    () => [{ name: 'read_file', arguments: { path: 'src/search-service.mjs' } }],
    (turn) => {
      const code = fileContent(turn.results[0]);
      const index =
        /export const INDEX = '([^']+)'/.exec(code)?.[1] ?? needed(turn, 'search.index');
      return [
        write(
          'tests/search.test.mjs',
          `import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSearchRequest } from '../src/search-service.mjs';

test('queries the ${index} index', () => {
  assert.match(buildSearchRequest('laptop').url, /\\/${index}\\/_search$/);
});

test('matches the text in the searched fields', () => {
  const { body } = buildSearchRequest('laptop', { size: 5 });
  assert.equal(body.query.multi_match.query, 'laptop');
  assert.equal(body.size, 5);
});

test('refuses an empty query', () => {
  assert.throws(() => buildSearchRequest('  '), TypeError);
});
`,
        ),
      ];
    },
    (turn) =>
      turn.tools.has('run_command')
        ? [{ name: 'run_command', arguments: { command: 'node', args: ['--test', 'tests/'] } }]
        : [],
  ],
  answer: (turn) => {
    if (!turn.tools.has('run_command')) {
      return 'Wrote tests/search.test.mjs. I could not run it: run_command is not offered (start troupe with --allow-command node), so run `node --test tests/` yourself.';
    }
    const run = JSON.parse(turn.results.at(-1) ?? '{}') as { exitCode?: number | null };
    return run.exitCode === 0
      ? 'Wrote tests/search.test.mjs and ran node --test tests/: all 3 tests passed (exit code 0).'
      : `Wrote tests/search.test.mjs and ran node --test tests/: it FAILED (exit code ${String(run.exitCode)}).`;
  },
};

const docs: DemoRole = {
  rounds: [
    (turn) => [
      write(
        'README.md',
        `# Search API

${needed(turn, 'stack')}.

## Run it

\`\`\`sh
PORT=${needed(turn, 'api.port')} ELASTICSEARCH_URL=${needed(turn, 'search.url')} node src/server.mjs
curl 'http://localhost:${needed(turn, 'api.port')}/api/search?q=laptop'
\`\`\`

## Endpoint

${needed(turn, 'api.endpoint')}

## Index

Searches the \`${needed(turn, 'search.index')}\` index (fields ${needed(turn, 'search.fields')}); its mapping is in \`search/products-index.json\`. Tests: \`node --test tests/\`.
`,
      ),
    ],
  ],
  answer: () => 'Wrote README.md: how to run the API, the endpoint and the index it searches.',
};

/** The demo's roles by the words their system prompts start with. */
export const DEMO_ROLES: ReadonlyArray<[RegExp, DemoRole]> = [
  [/Elasticsearch architect/, elasticsearch],
  [/backend engineer/, backend],
  [/QA engineer/, qa],
  [/documentation writer/, docs],
];
