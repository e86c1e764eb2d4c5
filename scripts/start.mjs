// `npm start`: the whole Bullpen stack on this machine with nothing but Node.js. Installs
// dependencies when they are missing, then hands over to scripts/lib/local-stack.ts, which
// starts Redis, the local Lambda host, the API and the dispatcher and runs a short demo.
// `npm start -- --demo` (or BULLPEN_DEMO_EXIT=1) runs the demo and exits.
import { createRequire } from 'node:module';
import { ensureDependencies, repoRoot } from './lib/bootstrap.mjs';

ensureDependencies();

// tsx is a dependency, so it can only be loaded after the install above. Its CommonJS hook lets
// this process load the TypeScript stack code and the workspace packages it imports.
const { register } = await import('tsx/cjs/api');
register();
const require = createRequire(import.meta.url);
const { loadStackConfig, USAGE } = require('./lib/stack-config.ts');
const { runLocalStack } = require('./lib/local-stack.ts');

let config;
try {
  config = loadStackConfig(process.argv.slice(2), process.env, repoRoot);
} catch (error) {
  console.error(error.message);
  process.exit(2);
}
if (config.showHelp) {
  console.log(USAGE);
  process.exit(0);
}

process.exit(await runLocalStack(config));
