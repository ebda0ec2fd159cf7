// Runs the action shim for the benchmark with its manifest and release base passed as parameters,
// the one way they can be changed: node bench/shim.js MANIFEST [RELEASE_BASE_URL]
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const [manifest, releaseBaseUrl] = process.argv.slice(2);
require(path.join(__dirname, '..', 'action', 'main.js'))
  .main(process.env, { manifest: JSON.parse(fs.readFileSync(manifest, 'utf8')), releaseBaseUrl })
  .then((code) => process.exit(code));
