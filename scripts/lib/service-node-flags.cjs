'use strict';
// Reads the Node.js flags that the API and the dispatcher run with (infra/docker/node-flags).
// CommonJS so that the start scripts, the bench and the tests can all load it.

const fs = require('node:fs');
const path = require('node:path');

const NODE_FLAGS_FILE = path.join(__dirname, '..', '..', 'infra', 'docker', 'node-flags');

/** Returns the flags of a node-flags file: one per line, without blank and `#` comment lines. */
function readServiceNodeFlags(file = NODE_FLAGS_FILE) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

module.exports = { NODE_FLAGS_FILE, readServiceNodeFlags };
