/**
 * The words of a planning request as the heuristic planner compares them:
 * stemmed ("APIs" is "api", "testing" is "test"), with synonyms mapped to the
 * keyword the specialists' expertise uses ("documentation" is "docs",
 * "endpoint" is "api"), and the intent the request's verbs express.
 */

/** What a request asks for; it decides which stages a plan needs. */
export type Intent = 'build' | 'document' | 'deploy' | 'test' | 'review' | 'refactor';

/** Words (canonical stems) by the intent they express. */
const INTENT_WORDS: ReadonlyArray<readonly [Intent, readonly string[]]> = [
  ['document', ['docs', 'explain', 'describe']],
  ['deploy', ['deploy', 'docker', 'host', 'ci', 'pipeline']],
  ['test', ['test', 'e2e']],
  ['review', ['audit', 'assess', 'inspect']],
  ['refactor', ['refactor', 'restructure', 'clean', 'simplify', 'rename', 'modernize']],
  ['build', ['build', 'implement', 'develop', 'integrate', 'design', 'fix']],
];
/** Verbs that say "make" without saying what: their object decides ("write docs" documents). */
const WEAK_VERBS = new Set(['write', 'create', 'add', 'make', 'set', 'support', 'prepare']);
/** How many words after a weak verb its object may come. */
const OBJECT_REACH = 3;

/** Stemmed word -> the stemmed keyword it stands for. */
const SYNONYMS: Readonly<Record<string, string>> = {
  endpoint: 'api',
  documentation: 'docs',
  doc: 'docs',
  document: 'docs',
  readme: 'docs',
  guide: 'docs',
  tutorial: 'docs',
  manual: 'docs',
  changelog: 'docs',
  spec: 'test',
  unit: 'test',
  integration: 'test',
  verify: 'test',
  ship: 'deploy',
  release: 'deploy',
  rollout: 'deploy',
  container: 'docker',
  containerize: 'docker',
  helm: 'kubernetes',
  k8s: 'kubernetes',
  login: 'auth',
  oauth: 'auth',
  jwt: 'auth',
  sso: 'auth',
  postgres: 'database',
  postgresql: 'database',
  mysql: 'database',
  mongodb: 'database',
  sql: 'database',
  db: 'database',
  microservice: 'service',
  opensearch: 'elasticsearch',
  lucene: 'search',
  fulltext: 'search',
  dashboard: 'page',
  screen: 'page',
  interface: 'ui',
  gpt: 'llm',
  chatbot: 'llm',
  xss: 'vulnerability',
  csrf: 'vulnerability',
  cve: 'vulnerability',
  pentest: 'security',
  harden: 'security',
  review: 'audit',
  metric: 'monitoring',
  alert: 'monitoring',
  github: 'ci',
};

/**
 * A light English stemmer, enough for request words and keywords: plural
 * and verb endings off ("apis" -> "api", "queries" -> "query", "testing" ->
 * "test", "deployed" -> "deploy"), short words kept as they are.
 */
export function stem(word: string): string {
  let w = word.toLowerCase();
  if (w.length <= 3) return w;
  if (w.endsWith('ies') && w.length > 4) return `${w.slice(0, -3)}y`;
  if (/(ss|us)$/.test(w) || (w.length > 4 && w.endsWith('is'))) return w;
  if (/(ches|shes|xes|sses)$/.test(w)) return w.slice(0, -2);
  if (w.endsWith('s')) w = w.slice(0, -1);
  else if (w.endsWith('ing') && w.length > 5) w = w.slice(0, -3);
  else if (w.endsWith('ed') && w.length > 4) w = w.slice(0, -2);
  else return w;
  // "running" -> "runn" -> "run"; "mapped" -> "mapp" -> "map"
  if (/([^aeiou])\1$/.test(w) && !/(ss|ll)$/.test(w)) w = w.slice(0, -1);
  return w;
}

/** The stem a word is compared by: its synonym's if it has one. */
export function canonical(word: string): string {
  const stemmed = stem(word);
  return SYNONYMS[stemmed] ?? stemmed;
}

/** The request's words, each canonical; multi-word phrases stay matchable through `text`. */
export interface RequestWords {
  /** Canonical stems of every word. */
  stems: ReadonlySet<string>;
  /** The canonical stems joined by single spaces, padded with one space each side. */
  text: string;
  /** Intents in the order the request expresses them; `build` when none is found. */
  intents: readonly Intent[];
}

export function requestWords(parts: readonly string[]): RequestWords {
  const raw = parts
    .join(' ')
    .toLowerCase()
    .replace(/\bend-to-end\b/g, 'e2e')
    .split(/[^a-z0-9.+#]+/)
    .map((word) => word.replace(/^\.+|\.+$/g, ''))
    .filter(Boolean);
  const canon = raw.map(canonical);
  const intentOf = (word: string) => INTENT_WORDS.find(([, words]) => words.includes(word))?.[0];
  const intents: Intent[] = [];
  const add = (intent: Intent) => {
    if (!intents.includes(intent)) intents.push(intent);
  };
  canon.forEach((word, i) => {
    const intent = intentOf(word);
    if (intent) add(intent);
    else if (WEAK_VERBS.has(word)) {
      const object = canon
        .slice(i + 1, i + 1 + OBJECT_REACH)
        .map(intentOf)
        .find(Boolean);
      add(object ?? 'build');
    }
  });
  return {
    stems: new Set(canon),
    text: ` ${canon.join(' ')} `,
    intents: intents.length > 0 ? intents : ['build'],
  };
}

/** Whether an expertise keyword (one word or a phrase) is among the request's words. */
export function mentions(words: RequestWords, keyword: string): boolean {
  const parts = keyword.toLowerCase().split(/\s+/).map(canonical);
  return parts.length === 1
    ? words.stems.has(parts[0]!)
    : words.text.includes(` ${parts.join(' ')} `);
}
