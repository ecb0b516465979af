export { type BridgeBatch, type BridgeOptions, InspectorBridge } from './bridge.js';
export type { HubOptions, InspectedRuntime } from './hub.js';
export { bundle as bundleInspectorPage, loadPageAssets, type PageAssets } from './page-assets.js';
export type {
  ActorInfo,
  ClientMessage,
  InspectorStats,
  QueueView,
  RunDetail,
  ServerFrame,
  ServerMessage,
  StatechartNode,
  TaskDelta,
  TaskView,
  TimelineEvent,
} from './protocol.js';
export { PROTOCOL_VERSION } from './protocol.js';
export {
  createInspectorServer,
  type InspectorServer,
  type InspectorServerOptions,
  type RuntimeInspectorOptions,
} from './server.js';
export { STATELY_FORMAT_VERSION } from './stately.js';
