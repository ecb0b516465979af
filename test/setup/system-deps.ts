/**
 * vitest globalSetup, first of all: the suite needs real Chromium, PostgreSQL
 * and Redis. scripts/ensure-system-deps.sh installs the missing Debian
 * packages when run as root or with password-less sudo, and otherwise fails
 * with the one command to run.
 * Here rather than in an npm `pretest` hook, so every way of starting the
 * tests (`npm test`, `npx vitest`, `npm test --ignore-scripts`) gets it.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/ensure-system-deps.sh', import.meta.url));

export default function setup(): void {
  execFileSync('bash', [SCRIPT], { stdio: 'inherit' });
}
