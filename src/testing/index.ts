/** XState's clock that moves only when told (`clock.increment(ms)`); pass it as `clock` to the runtime or a queue. */
export { SimulatedClock } from 'xstate';
export { MemoryStore } from '../store/index.js';
export {
  DEMO_HABITS,
  DEMO_MODEL,
  type DemoHabit,
  type DemoModelServerOptions,
  demoModel,
  startDemoModelServer,
} from './demo-model.js';
export {
  FaultyStore,
  type StoreFault,
  type StoreFaultCode,
  type StoreFaultMode,
  storageError,
} from './faulty-store.js';
export {
  type ChatCall,
  type ChatStep,
  type Endpoint,
  type OpenAiTestServer,
  type OpenAiTestServerOptions,
  type RecordedRequest,
  startOpenAiTestServer,
} from './openai-test-server.js';
export {
  createDatabase,
  freePort,
  POSTGRES_BIN_DIR,
  POSTGRES_INSTALL_COMMAND,
  type PostgresCluster,
  type PostgresClusterOptions,
  startPostgresCluster,
} from './postgres-cluster.js';
export {
  type ChatReply,
  type ChatRequestBody,
  type EmbeddingReply,
  type ErrorReply,
  fault,
  type HangReply,
  type MalformedReply,
  type MessageReply,
  reply,
  type ScriptedToolCall,
  type ScriptedUsage,
} from './scripted-replies.js';
