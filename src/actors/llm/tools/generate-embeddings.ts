import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type OpenAI from 'openai';
import { z } from 'zod';
import { TroupeError } from '../../../errors.js';
import { defineTool, type LlmTool } from '../define-tool.js';
import type { LlmClient } from '../llm-client.js';
import { toLlmError } from '../llm-errors.js';
import type { Workspace } from './workspace.js';

const MAX_TEXTS = 64;
/** Vectors returned inline are capped: hundreds of floats per text would drown the conversation. */
const MAX_INLINE_VALUES = 2048;

const input = z.object({
  texts: z.array(z.string().min(1)).min(1).max(MAX_TEXTS).describe('Texts to embed.'),
  outFile: z
    .string()
    .optional()
    .describe(
      'Workspace path of a JSON file to write [{ text, embedding }] to; then only a summary is returned.',
    ),
});

/**
 * `generate_embeddings`: embeds texts through the same OpenAI-compatible
 * server, with the client's `embeddingModel`; writes the vectors to a
 * workspace file, or returns them when they are small.
 */
export function generateEmbeddingsTool(llm: LlmClient, workspace: Workspace): LlmTool {
  return defineTool({
    name: 'generate_embeddings',
    description: `Compute embedding vectors (model ${llm.embeddingModel}) for up to ${MAX_TEXTS} texts. Give "outFile" to save them as JSON in the workspace; without it the vectors are returned only if they are small.`,
    input,
    async handler({ texts, outFile }, ctx) {
      const target =
        outFile === undefined ? undefined : await workspace.resolve(outFile, 'generate_embeddings');
      const site = {
        who: `tool generate_embeddings (${ctx.idempotencyKey})`,
        model: llm.embeddingModel,
      };
      let response: Awaited<ReturnType<OpenAI['embeddings']['create']>>;
      try {
        // 'float' explicitly: several local servers do not implement the client's default base64.
        const openai = await llm.openai();
        response = await openai.embeddings.create(
          { model: llm.embeddingModel, input: texts, encoding_format: 'float' },
          { signal: ctx.signal },
        );
      } catch (error) {
        throw toLlmError(error, llm, site, ctx.signal);
      }
      const vectors = [...response.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      const tokens = response.usage?.prompt_tokens ?? 0;
      ctx.addUsage({ promptTokens: tokens, totalTokens: response.usage?.total_tokens ?? tokens });
      const dimensions = vectors[0]?.length ?? 0;
      const summary = { model: response.model, count: vectors.length, dimensions };
      if (target) {
        const json = JSON.stringify(texts.map((text, i) => ({ text, embedding: vectors[i] })));
        const limit = workspace.options.maxWriteBytes;
        if (Buffer.byteLength(json) > limit) {
          throw new TroupeError(
            'INVALID_INPUT',
            `generate_embeddings: the vectors take ${Buffer.byteLength(json)} bytes, over the write limit of ${limit}; embed fewer texts per call.`,
          );
        }
        await mkdir(path.dirname(target.absolute), { recursive: true });
        await writeFile(target.absolute, json, 'utf8');
        return { ...summary, file: target.relative };
      }
      if (dimensions * vectors.length > MAX_INLINE_VALUES) {
        return {
          ...summary,
          note: 'vectors not shown (too large); call again with "outFile" to save them',
        };
      }
      return { ...summary, embeddings: vectors };
    },
  });
}
