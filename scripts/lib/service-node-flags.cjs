'use strict';
// Reads the Node.js flags that the API and the dispatcher run with, from
// infra/docker/<service>.node-flags. CommonJS so that the start scripts, the bench and the
// tests can all load it.

const fs = require('node:fs');
const path = require('node:path');

const NODE_FLAGS_DIR = path.join(__dirname, '..', '..', 'infra', 'docker');
const SERVICES = ['api', 'dispatcher'];

/** Returns the path of a service's node-flags file. */
function nodeFlagsFile(service) {
  if (!SERVICES.includes(service)) {
    throw new Error(`Unknown service "${service}": use one of ${SERVICES.join(', ')}`);
  }
  return path.join(NODE_FLAGS_DIR, `${service}.node-flags`);
}

/** Returns the flags of a node-flags file: one per line, without blank and `#` comment lines. */
function readNodeFlagsFile(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Returns the Node.js flags of the `api` or `dispatcher` service. */
function readServiceNodeFlags(service) {
  return readNodeFlagsFile(nodeFlagsFile(service));
}

module.exports = { SERVICES, nodeFlagsFile, readNodeFlagsFile, readServiceNodeFlags };
