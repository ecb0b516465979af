/**
 * Startup of `troupe --help` against a bare `node -e ''`, from the built CLI
 * (`npm run build` first): median wall time of 10 runs each, after one warm-up.
 * Usage: node bench/cli-startup.mjs [runs]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 10);
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

function median(args) {
  spawnSync(process.execPath, args);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const child = spawnSync(process.execPath, args, { encoding: 'utf8' });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (child.status !== 0)
      throw new Error(`node ${args.join(' ')} exited ${child.status}: ${child.stderr}`);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const bare = median(['-e', '']);
const help = median([cli, '--help']);
const version = median([cli, '--version']);
const result = {
  runs,
  nodeBareMs: Math.round(bare),
  troupeHelpMs: Math.round(help),
  troupeVersionMs: Math.round(version),
  ratio: Number((help / bare).toFixed(2)),
};
console.log(JSON.stringify(result));
