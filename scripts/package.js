// Packages one release binary the way every channel ships it, into DIR:
//   truss-ci-TARGET[.exe]      the binary, for a plain download (with .sha256)
//   truss-ci-TARGET.br         brotli at quality 11 (with .sha256): what the action downloads
// The binary's .sha256 is also that of the .br decompressed (checked here): the action's manifest
// records both, the .br's for the bytes it downloads, the binary's for the file it runs.
// Usage: node scripts/package.js TARGET BINARY DIR. Node built-ins only, so every runner can run
// it; the same input always gives the same bytes.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const [target, binary, dir] = process.argv.slice(2);
if (!target || !binary || !dir) {
  console.error('usage: node scripts/package.js TARGET BINARY DIR');
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
const bytes = fs.readFileSync(binary);
const write = (name, data) => {
  fs.writeFileSync(path.join(dir, name), data);
  const sum = crypto.createHash('sha256').update(data).digest('hex');
  fs.writeFileSync(path.join(dir, `${name}.sha256`), `${sum}  ${name}\n`);
  console.error(`package: ${name} ${data.length} bytes sha256 ${sum}`);
};
const raw = `truss-ci-${target}${target.includes('windows') ? '.exe' : ''}`;
write(raw, bytes);
fs.chmodSync(path.join(dir, raw), 0o755);
const br = zlib.brotliCompressSync(bytes, {
  params: {
    [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
    [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
    [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
  },
});
if (!zlib.brotliDecompressSync(br).equals(bytes)) {
  console.error(`package: truss-ci-${target}.br does not decompress to ${binary}`);
  process.exit(1);
}
write(`truss-ci-${target}.br`, br);
