/**
 * vitest globalSetup, first of all: the suite needs real Chromium, PostgreSQL
 * and Redis. scripts/ensure-system-deps.sh installs the missing Debian
 * packages when run as root or with password-less sudo, and otherwise fails
 * with the one command to run.
 * `npm test` runs the script first as its `pretest` hook, before vitest
 * starts; this setup runs it again (a check of three paths once everything
 * is present) so the ways of starting the tests that skip npm's hooks
 * (`npx vitest`, `npm test --ignore-scripts`) get it too.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/ensure-system-deps.sh', import.meta.url));

export default function setup(): void {
  execFileSync('bash', [SCRIPT], { stdio: 'inherit' });
}
