export { type ChatParams, type ChatRequest, requestChat } from './chat-request.js';
export {
  defineLlmAgent,
  type LlmAgentOptions,
  type LlmAgentOutput,
} from './define-llm-agent.js';
export {
  defineTool,
  type LlmTool,
  type ToolContext,
  type ToolOptions,
  type ToolOutcome,
} from './define-tool.js';
export { type BudgetReservation, LlmBudget, type LlmBudgetOptions } from './llm-budget.js';
export {
  createLlmClient,
  type LlmClient,
  type LlmEnv,
  type LlmOptions,
  llmRequested,
  toLlmClient,
} from './llm-client.js';
export {
  EVENT_TEXT_CHARS,
  type LlmEvent,
  type LlmEventBody,
  type LlmEventSource,
  TOKEN_BATCH_CHARS,
} from './llm-events.js';
export {
  DEFAULT_JUDGE_RUBRIC,
  type LlmJudgeScorerOptions,
  type LlmJudgeVerdict,
  llmJudgeScorer,
} from './llm-judge-scorer.js';
export { createLlmPlanner, type LlmPlannerOptions } from './llm-planner.js';
export { costOf, type ModelPrice, type PriceTable } from './llm-prices.js';
export { type LlmSpecialistsOptions, specialists } from './llm-specialists.js';
export {
  type McpHttpServerOptions,
  type McpServerOptions,
  type McpStdioServerOptions,
  type McpToolset,
  type McpToolsOptions,
  mcpToolName,
  mcpTools,
} from './mcp/index.js';
export {
  checkLlmServer,
  type LlmPreflightOptions,
  type LlmPreflightReport,
} from './preflight.js';
export {
  callKeyString,
  type LlmCacheKeying,
  type LlmCallKey,
  type LlmResponseCache,
  MemoryLlmResponseCache,
  requestHash,
} from './response-cache.js';
export {
  type StoredLlmResponse,
  StoreLlmResponseCache,
  type StoreLlmResponseCacheOptions,
} from './store-response-cache.js';
export { type TokenBudgetScorerOptions, tokenBudgetScorer } from './token-budget-scorer.js';
export {
  estimateTokens,
  type TokenUsage,
  tokenUsageSchema,
  usageOf,
  type WorkflowUsage,
} from './token-usage.js';
export {
  type ApprovalAnswer,
  type ApprovalOptions,
  type ApprovalRule,
  approvalAnswerSchema,
} from './tool-approval.js';
export type { ToolCallRecord } from './tool-call.js';
export {
  collaborationTools,
  sharedView,
  type TeamAccess,
} from './tools/collaboration.js';
export {
  type Decision,
  type DecisionConflict,
  type DecisionRecord,
  decisionsOf,
} from './tools/decisions.js';
export {
  generateEmbeddingsTool,
  listFilesTool,
  readFileTool,
  runCommandTool,
  searchFilesTool,
  Workspace,
  type WorkspaceOptions,
  type WorkspaceToolsOptions,
  workspaceTools,
  writeFileTool,
} from './tools/index.js';
