import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type AgentDefinition, defineAgent } from '../agents/define-agent.js';
import { listFiles, MAX_READ_BYTES, type ScannedFile } from './files.js';
import { languageOf } from './languages.js';
import { maskSecret, SECRET_PATTERNS } from './secret-patterns.js';

/** Output of the `scan` task. */
export interface ScanOutput {
  root: string;
  files: ScannedFile[];
  totalBytes: number;
}

/** Output of each `lines-<n>` shard. */
export interface LineCountOutput {
  shard: number;
  files: number;
  byLanguage: Record<string, { files: number; lines: number; blank: number }>;
  largest: { path: string; lines: number }[];
}

export interface SecretFinding {
  path: string;
  line: number;
  kind: string;
  excerpt: string;
}

export interface SecretScanOutput {
  clean: boolean;
  scannedFiles: number;
  findings: SecretFinding[];
}

/**
 * The demo's agents. They do real work on a folder: list it, count lines per
 * language in parallel shards, look for likely secrets, write a report.
 */
export function demoAgents(options: { root: string; outDir: string }): AgentDefinition[] {
  const root = path.resolve(options.root);
  const outDir = path.resolve(options.outDir);

  const scanner = defineAgent({
    role: 'scanner',
    displayName: 'File Scanner',
    expertise: ['files', 'scan', 'inventory'],
    stage: 'data',
    run: async (_task, ctx): Promise<ScanOutput> => {
      const files = await listFiles(root, { skip: [outDir], signal: ctx.signal });
      ctx.updateShared({ root, fileCount: files.length });
      return { root, files, totalBytes: files.reduce((sum, f) => sum + f.bytes, 0) };
    },
  });

  const lineCounter = defineAgent({
    role: 'metrics',
    displayName: 'Line Counter',
    expertise: ['lines', 'metrics', 'languages'],
    stage: 'backend',
    concurrency: 4,
    run: async (task, ctx): Promise<LineCountOutput> => {
      const { shard, shards } = task.input as { shard: number; shards: number };
      const scan = ctx.dependencies.scan as ScanOutput;
      const mine = scan.files.filter(
        (file, i) =>
          i % shards === shard && languageOf(file.extension) && file.bytes <= MAX_READ_BYTES,
      );
      const byLanguage: LineCountOutput['byLanguage'] = {};
      const counted: { path: string; lines: number }[] = [];
      for (const [i, file] of mine.entries()) {
        ctx.signal.throwIfAborted();
        const text = await readFile(path.join(scan.root, file.path), 'utf8');
        const lines = text.split('\n');
        const blank = lines.filter((l) => l.trim() === '').length;
        const language = languageOf(file.extension)!;
        const entry = byLanguage[language] ?? { files: 0, lines: 0, blank: 0 };
        byLanguage[language] = entry;
        entry.files++;
        entry.lines += lines.length;
        entry.blank += blank;
        counted.push({ path: file.path, lines: lines.length });
        if (i % 10 === 0) ctx.progress(i / mine.length, file.path);
      }
      counted.sort((a, b) => b.lines - a.lines || a.path.localeCompare(b.path));
      return { shard, files: mine.length, byLanguage, largest: counted.slice(0, 10) };
    },
  });

  const secretScanner = defineAgent({
    role: 'security',
    displayName: 'Secret Scanner',
    expertise: ['security', 'secrets'],
    stage: 'verify',
    run: async (_task, ctx): Promise<SecretScanOutput> => {
      const scan = ctx.dependencies.scan as ScanOutput;
      const candidates = scan.files.filter((f) => f.bytes <= MAX_READ_BYTES);
      const findings: SecretFinding[] = [];
      for (const [i, file] of candidates.entries()) {
        ctx.signal.throwIfAborted();
        const text = await readFile(path.join(scan.root, file.path), 'utf8');
        if (text.includes('\u0000')) continue; // binary
        text.split('\n').forEach((line, index) => {
          for (const { name, pattern } of SECRET_PATTERNS) {
            const match = pattern.exec(line);
            if (match)
              findings.push({
                path: file.path,
                line: index + 1,
                kind: name,
                excerpt: maskSecret(match[0]),
              });
          }
        });
        if (i % 20 === 0) ctx.progress(i / candidates.length, file.path);
      }
      return { clean: findings.length === 0, scannedFiles: candidates.length, findings };
    },
  });

  const reportWriter = defineAgent({
    role: 'docs',
    displayName: 'Report Writer',
    expertise: ['docs', 'report', 'markdown'],
    stage: 'docs',
    run: async (task, ctx) => {
      const scan = ctx.dependencies.scan as ScanOutput;
      const shards = Object.entries(ctx.dependencies)
        .filter(([id]) => id.startsWith('lines-'))
        .map(([, output]) => output as LineCountOutput);
      const secrets = ctx.dependencies.secrets as SecretScanOutput | undefined;
      const markdown = renderReport(
        scan,
        shards,
        secrets,
        String(task.input.title ?? 'Codebase report'),
      );
      await mkdir(outDir, { recursive: true });
      const file = path.join(outDir, 'report.md');
      await writeFile(file, markdown);
      return { path: file, bytes: Buffer.byteLength(markdown) };
    },
  });

  const secretsAdvisor = defineAgent({
    role: 'advisor',
    displayName: 'Secrets Advisor',
    expertise: ['advice'],
    stage: 'docs',
    run: async (_task, ctx) => {
      const secrets = ctx.dependencies.secrets as SecretScanOutput;
      const files = [...new Set(secrets.findings.map((f) => f.path))];
      const advice = `Rotate the exposed credentials, then remove them from ${files.length} file(s) and their history.`;
      await mkdir(outDir, { recursive: true });
      await writeFile(
        path.join(outDir, 'secrets-advice.md'),
        `# Secrets found\n\n${advice}\n\n${files.map((f) => `- ${f}`).join('\n')}\n`,
      );
      return { advice, files };
    },
  });

  return [scanner, lineCounter, secretScanner, reportWriter, secretsAdvisor];
}

function renderReport(
  scan: ScanOutput,
  shards: LineCountOutput[],
  secrets: SecretScanOutput | undefined,
  title: string,
): string {
  const languages = new Map<string, { files: number; lines: number; blank: number }>();
  for (const shard of shards) {
    for (const [language, counts] of Object.entries(shard.byLanguage)) {
      const total = languages.get(language) ?? { files: 0, lines: 0, blank: 0 };
      total.files += counts.files;
      total.lines += counts.lines;
      total.blank += counts.blank;
      languages.set(language, total);
    }
  }
  const sorted = [...languages.entries()].sort((a, b) => b[1].lines - a[1].lines);
  const largest = shards
    .flatMap((s) => s.largest)
    .sort((a, b) => b.lines - a.lines || a.path.localeCompare(b.path))
    .slice(0, 10);
  const lines = [
    `# ${title}`,
    '',
    `Folder: \`${scan.root}\` — ${scan.files.length} files, ${(scan.totalBytes / 1024).toFixed(1)} KB.`,
    '',
    '## Lines by language',
    '',
    '| language | files | lines | blank |',
    '|---|---:|---:|---:|',
    ...sorted.map(([language, c]) => `| ${language} | ${c.files} | ${c.lines} | ${c.blank} |`),
    '',
    '## Largest files',
    '',
    ...largest.map((f) => `- \`${f.path}\`: ${f.lines} lines`),
    '',
    '## Likely secrets',
    '',
  ];
  if (!secrets) lines.push('Not scanned.');
  else if (secrets.clean) lines.push(`None found in ${secrets.scannedFiles} files.`);
  else
    lines.push(
      ...secrets.findings.map((f) => `- \`${f.path}:${f.line}\` ${f.kind} (${f.excerpt})`),
    );
  lines.push('');
  return lines.join('\n');
}
