/**
 * The `openai` package, loaded on first use. It is the heaviest dependency
 * (about as much load time as the rest of troupe), and most programs that
 * import troupe never talk to a model, so `import 'troupe'` must not load it.
 */
import type * as OpenAiModule from 'openai';

let loading: Promise<typeof OpenAiModule> | undefined;
let loaded: typeof OpenAiModule | undefined;

/** Loads `openai` once per process. */
export function loadOpenAi(): Promise<typeof OpenAiModule> {
  loading ??= import('openai').then((module) => {
    loaded = module;
    return module;
  });
  return loading;
}

/**
 * The package if it has been loaded. An error of the `openai` client can only
 * exist after that, so error classification needs no loading of its own.
 */
export function openAiIfLoaded(): typeof OpenAiModule | undefined {
  return loaded;
}
