// The GitHub Action shim: find or download truss-ci (verified against the committed SHA-256
// manifest, failing closed), run `truss-ci login` with the runner's INPUT_* env, and in the post
// step run `truss-ci logout --post`. Node built-ins only.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');
const zlib = require('node:zlib');
const { spawnSync } = require('node:child_process');

const TARGETS = {
  'Linux/X64': 'x86_64-unknown-linux-gnu',
  'Linux/ARM64': 'aarch64-unknown-linux-gnu',
  'macOS/X64': 'x86_64-apple-darwin',
  'macOS/ARM64': 'aarch64-apple-darwin',
  'Windows/X64': 'x86_64-pc-windows-msvc',
};
const ATTEMPTS = 4;
/// A download larger than this is not a truss-ci release asset.
const MAX_DOWNLOAD = 32 * 1024 * 1024;
/// Nor is a binary larger than this.
const MAX_BINARY = 64 * 1024 * 1024;

function input(env, name) {
  return (env[`INPUT_${name.toUpperCase()}`] || '').trim();
}

function fail(message) {
  // One annotation, escaped as the runner unescapes workflow-command data.
  const data = String(message).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  process.stdout.write(`::error title=truss-ci action::${data}\n`);
  return 1;
}

function appendState(env, name, value) {
  if (!env.GITHUB_STATE) return;
  const delimiter = `ghadelimiter_${crypto.randomUUID()}`;
  fs.appendFileSync(env.GITHUB_STATE, `${name}<<${delimiter}\n${value}\n${delimiter}\n`);
}

function loadManifest(env) {
  const file = env.TRUSS_CI_MANIFEST_PATH || path.join(__dirname, 'manifest.json');
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function target(env) {
  const key = `${env.RUNNER_OS}/${env.RUNNER_ARCH}`;
  const t = TARGETS[key];
  if (!t) throw new Error(`no truss-ci build for runner ${key}; set truss-ci-path to a binary you provide`);
  return t;
}

/// The release asset the action downloads: the binary, brotli-compressed (Node's zlib reads it).
function assetName(t) {
  return `truss-ci-${t}.br`;
}

// --- HTTP(S) with proxies, redirects (GitHub release assets redirect) and a size bound ---------

function noProxy(env, host) {
  const list = (env.NO_PROXY || env.no_proxy || '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  host = host.toLowerCase();
  return list.some((entry) => entry === '*' || host === entry.replace(/^\./, '') || host.endsWith(entry.startsWith('.') ? entry : `.${entry}`));
}

function proxyFor(env, url) {
  if (noProxy(env, url.hostname)) return null;
  const raw = url.protocol === 'https:' ? env.HTTPS_PROXY || env.https_proxy : env.HTTP_PROXY || env.http_proxy;
  return raw ? new URL(raw) : null;
}

function isLoopback(host) {
  return host === 'localhost' || host === '[::1]' || host === '::1' || net.isIPv4(host) && host.startsWith('127.');
}

function connectTunnel(proxy, url) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: proxy.hostname,
      port: proxy.port || 80,
      method: 'CONNECT',
      path: `${url.hostname}:${url.port || 443}`,
      headers: proxy.username ? { 'Proxy-Authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}` } : {},
    });
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) return reject(new Error(`proxy CONNECT answered ${res.statusCode}`));
      resolve(tls.connect({ socket, servername: url.hostname }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function get(env, url, redirects = 5) {
  url = new URL(url);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new Error(`refusing ${url.protocol} download from ${url.host}: HTTPS only`);
  }
  const proxy = proxyFor(env, url);
  const options = { method: 'GET', headers: { 'User-Agent': 'truss-ci-action' }, timeout: 60000 };
  if (proxy && url.protocol === 'https:') {
    const socket = await connectTunnel(proxy, url);
    options.createConnection = () => socket;
  } else if (proxy) {
    options.host = proxy.hostname;
    options.port = proxy.port || 80;
    options.path = url.href;
  }
  const lib = url.protocol === 'https:' ? https : http;
  const response = await new Promise((resolve, reject) => {
    const req = proxy && url.protocol === 'http:' ? lib.request(options, resolve) : lib.request(url, options, resolve);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
  if ([301, 302, 303, 307, 308].includes(response.statusCode) && response.headers.location && redirects > 0) {
    response.resume();
    return get(env, new URL(response.headers.location, url), redirects - 1);
  }
  return response;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/// Downloads `url` into memory (at most MAX_DOWNLOAD bytes) and returns its bytes and their SHA-256;
/// retries network errors, 429 and 5xx.
async function download(env, url) {
  let lastError;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const response = await get(env, url);
      if (response.statusCode === 200) {
        const chunks = [];
        let size = 0;
        await new Promise((resolve, reject) => {
          response.on('data', (chunk) => {
            size += chunk.length;
            if (size > MAX_DOWNLOAD) {
              response.destroy(new Error(`${url} is larger than ${MAX_DOWNLOAD} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          response.on('error', reject);
          response.on('end', resolve);
        });
        const bytes = Buffer.concat(chunks);
        return { bytes, sha256: crypto.createHash('sha256').update(bytes).digest('hex') };
      }
      response.resume();
      lastError = new Error(`${url} answered ${response.statusCode}`);
      if (response.statusCode !== 429 && response.statusCode < 500) break;
    } catch (e) {
      lastError = e;
    }
    if (attempt < ATTEMPTS) {
      const wait = Math.random() * Math.min(8000, 500 * 2 ** attempt);
      process.stdout.write(`truss-ci action: download attempt ${attempt} failed (${lastError.message}); retrying in ${(wait / 1000).toFixed(1)}s\n`);
      await sleep(wait);
    }
  }
  throw lastError;
}

/// The binary: truss-ci-path, else the tool cache, else a verified download into the tool cache.
async function findBinary(env) {
  const explicit = input(env, 'truss-ci-path');
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`truss-ci-path ${explicit} does not exist`);
    return explicit;
  }
  const manifest = loadManifest(env);
  const version = (input(env, 'version') || manifest.version).replace(/^v/, '');
  const t = target(env);
  const expected = manifest.sha256?.[version]?.[t];
  if (!expected) {
    throw new Error(`no SHA-256 for truss-ci ${version} (${t}) in the action's manifest: refusing to run an unverified binary`);
  }
  const cacheRoot = env.RUNNER_TOOL_CACHE || path.join(os.tmpdir(), 'truss-ci-cache');
  const dir = path.join(cacheRoot, 'truss-ci', version, t);
  const binary = path.join(dir, t.includes('windows') ? 'truss-ci.exe' : 'truss-ci');
  if (fs.existsSync(binary) && fs.existsSync(`${dir}.complete`)) {
    return binary;
  }
  fs.mkdirSync(dir, { recursive: true });
  const base = (env.TRUSS_CI_RELEASE_BASE_URL || `https://github.com/${manifest.repository}/releases/download`).replace(/\/+$/, '');
  const url = `${base}/v${version}/${assetName(t)}`;
  const partial = `${binary}.partial`;
  try {
    const { bytes, sha256 } = await download(env, url);
    // The downloaded bytes are checked before anything reads them.
    if (sha256 !== expected) {
      throw new Error(`SHA-256 mismatch for ${url}: expected ${expected}, got ${sha256}; nothing was kept`);
    }
    const binaryBytes = zlib.brotliDecompressSync(bytes, { maxOutputLength: MAX_BINARY });
    fs.writeFileSync(partial, binaryBytes, { mode: 0o755 });
    fs.chmodSync(partial, 0o755);
    fs.renameSync(partial, binary);
    fs.writeFileSync(`${dir}.complete`, '');
    return binary;
  } finally {
    fs.rmSync(partial, { force: true });
  }
}

function run(binary, args, env) {
  const result = spawnSync(binary, args, { stdio: 'inherit', env });
  if (result.error) throw result.error;
  return result.status === null ? 1 : result.status;
}

async function main(env = process.env) {
  if (env.STATE_TRUSS_CI_ACTION_POST === 'true') {
    if (!/^(true|1|yes)$/i.test(input(env, 'cleanup') || 'true')) return 0;
    const binary = env.STATE_TRUSS_CI_ACTION_BINARY;
    if (!binary || !fs.existsSync(binary)) return 0;
    return run(binary, ['logout', '--post'], env);
  }
  // First of all, so that the post step knows it is the post step even if main fails.
  appendState(env, 'TRUSS_CI_ACTION_POST', 'true');
  let binary;
  try {
    binary = await findBinary(env);
  } catch (e) {
    return fail(e.message);
  }
  appendState(env, 'TRUSS_CI_ACTION_BINARY', binary);
  // Inputs reach truss-ci as the INPUT_* env the runner set: never on argv.
  return run(binary, ['login'], env);
}

module.exports = { main, findBinary, target, assetName, noProxy, TARGETS };

if (require.main === module) {
  main().then((code) => process.exit(code), (e) => process.exit(fail(e.stack || e.message)));
}
