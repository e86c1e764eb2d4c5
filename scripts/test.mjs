// The whole test suite: formatting, lint, type check, then every jest suite against real Redis.
// Arguments go to jest and skip the static checks, for example `npm test -- services/api`.
import { ensureDependencies, runPnpm } from './lib/bootstrap.mjs';

ensureDependencies();

const jestArgs = process.argv.slice(2);
const staticChecks = jestArgs.length === 0 ? [['format:check'], ['lint'], ['typecheck']] : [];
const steps = [...staticChecks, ['exec', 'jest', '--ci', ...jestArgs]];

for (const step of steps) {
  const status = runPnpm(step);
  if (status !== 0) process.exit(status);
}
