// Entry file of every execution environment's worker thread. Node 20 ignores an `--import`
// loader given in a Worker's execArgv (checked on Node 20.20 with tsx 4.23), so tsx is
// registered here, before the TypeScript runtime and the handler module are imported.
import { register as registerEsmLoader } from 'tsx/esm/api';
import { register as registerCommonJsLoader } from 'tsx/cjs/api';

registerEsmLoader();
registerCommonJsLoader();

await import('./environment-runtime.ts');
