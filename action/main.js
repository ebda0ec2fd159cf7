// The GitHub Action shim: find or download truss-ci, run `truss-ci login` with the inputs as its
// flags (the key in its env, never argv), and in the post step run `truss-ci logout --post`. The download is checked against
// the committed manifest's SHA-256 of the asset, and the file run, before main and before post,
// against its SHA-256 of the binary; either failing fails closed. Node built-ins only.
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
  'Linux/X64': 'x86_64-unknown-linux-musl',
  'Linux/ARM64': 'aarch64-unknown-linux-musl',
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

/// One workflow command (`error` or `warning`), its data escaped as the runner unescapes it.
function annotate(out, kind, message) {
  const data = String(message).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  out.write(`::${kind} title=truss-ci action::${data}\n`);
}

function fail(out, message) {
  annotate(out, 'error', message);
  return 1;
}

function appendState(env, name, value) {
  if (!env.GITHUB_STATE) return;
  const delimiter = `ghadelimiter_${crypto.randomUUID()}`;
  fs.appendFileSync(env.GITHUB_STATE, `${name}<<${delimiter}\n${value}\n${delimiter}\n`);
}

function output(options) {
  return options.stdout || process.stdout;
}

/// The manifest and the download source: the committed manifest beside this file and the
/// repository's releases, unless the caller passes others (only tests and the benchmark do; no
/// variable can, so no earlier step can swap what is verified or where it comes from).
function sources(options) {
  const manifest = options.manifest || JSON.parse(fs.readFileSync(path.join(__dirname, 'manifest.json'), 'utf8'));
  const base = options.releaseBaseUrl || `https://github.com/${manifest.repository}/releases/download`;
  return { manifest, base: base.replace(/\/+$/, ''), loopbackHttp: Boolean(options.releaseBaseUrl), out: output(options) };
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

// --- Where the binary lives, and the checks that make running it safe -----------------------
//
// The binary is verified where it lies, in a directory that only this user (or root) can change:
// the directory and every ancestor up to / are owned by this user or root and writable by no one
// else (a sticky ancestor such as /tmp is allowed: others cannot rename what this user owns in
// it). Then no other account can swap the file between the hash and the spawn, and a copy would
// add nothing. Symlinks are resolved once, in the root the runner names, and refused below it.
// The roots, best first: RUNNER_TOOL_CACHE (kept across jobs), RUNNER_TEMP (this job's), else a
// directory made for this run by mkdtemp in the system temp directory (a container job running
// as root, whose mounts the runner's own uid owns, gets there). Never a fixed name under
// os.tmpdir(): another local user could create it first.
// Windows has no owner or mode bits Node can read: there only the symlink checks and the digest
// hold.

const WINDOWS = process.platform === 'win32';
const HEX64 = /^[0-9a-f]{64}$/;

function modeText(mode) {
  return `0${(mode & 0o7777).toString(8)}`;
}

/// Throws unless `dir` (absolute, symlinks resolved) and each ancestor are directories that no
/// account but this one and root can write.
function checkPrivateDir(dir) {
  const uid = WINDOWS ? null : process.getuid();
  const parts = [];
  for (let p = dir; ; p = path.dirname(p)) {
    parts.unshift(p);
    if (path.dirname(p) === p) break;
  }
  parts.forEach((p, i) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) throw new Error(`${p} is a symlink`);
    if (!st.isDirectory()) throw new Error(`${p} is not a directory`);
    if (uid === null) return;
    if (st.uid !== uid && st.uid !== 0) {
      throw new Error(`${p} is owned by uid ${st.uid}, not by this user (uid ${uid}) or root`);
    }
    const last = i === parts.length - 1;
    if (st.mode & 0o022 && (last || !(st.mode & 0o1000))) {
      throw new Error(`${p} is writable by other users (mode ${modeText(st.mode)}); run \`chmod go-w ${p}\``);
    }
  });
}

/// Where under the runner root `root` the shim keeps truss-ci `version` for target `t`:
/// `<root>/truss-ci/<version>/<t>/truss-ci` (`.exe` on Windows), by the runner OS's own path
/// rules (`pathmod`: `path.win32` for a Windows runner: drive letters, backslashes, spaces).
function binaryPath(root, version, t, pathmod = path) {
  if (!pathmod.isAbsolute(root)) throw new Error(`${root} is not an absolute path`);
  return pathmod.join(root, 'truss-ci', version, t, binaryName(t));
}

/// The directory the shim keeps truss-ci in under `root`: created 0700 one level at a time, then
/// checked with every ancestor. `create: false` (the post step) only resolves and checks.
function binaryDir(root, version, t, create) {
  binaryPath(root, version, t);
  if (create) fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  let dir = fs.realpathSync(root);
  checkPrivateDir(dir);
  for (const part of ['truss-ci', version, t]) {
    dir = path.join(dir, part);
    if (create) {
      try {
        fs.mkdirSync(dir, { mode: 0o700 });
      } catch (e) {
        if (e.code !== 'EEXIST') throw e;
      }
    }
  }
  checkPrivateDir(dir);
  return dir;
}

function binaryName(t) {
  return t.includes('windows') ? 'truss-ci.exe' : 'truss-ci';
}

const RUN_DIR = /^truss-ci-[A-Za-z0-9]{6}$/;

/// A fresh directory for this run only, 0700, in the system temp directory; checked.
function runDir() {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'truss-ci-'));
  try {
    checkPrivateDir(dir);
  } catch (e) {
    fs.rmdirSync(dir); // still empty: nothing was written to it
    throw e;
  }
  return dir;
}

/// Whether `dir` is one runDir() made: its name, its place, this user's, 0700, checked.
function isRunDir(dir) {
  try {
    if (!RUN_DIR.test(path.basename(dir)) || path.dirname(dir) !== fs.realpathSync(os.tmpdir())) return false;
    checkPrivateDir(dir);
    const st = fs.lstatSync(dir);
    return WINDOWS || (st.uid === process.getuid() && (st.mode & 0o777) === 0o700);
  } catch {
    return false;
  }
}

/// The SHA-256 of the file at `file`, read through one descriptor that does not follow a symlink;
/// the file must be a regular file and, when `strict`, one that no other account can write.
function hashFile(file, strict = true) {
  // Windows has no O_NOFOLLOW: a check beforehand is the best Node offers there.
  if (WINDOWS && fs.lstatSync(file).isSymbolicLink()) throw new Error(`${file} is a symlink`);
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW || 0));
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    // A release binary has a bound; a truss-ci-path the workflow names (a debug build, say) has
    // only its digest checked.
    if (strict && st.size > MAX_BINARY) throw new Error(`${file} is larger than ${MAX_BINARY} bytes`);
    if (strict && !WINDOWS && ((st.uid !== process.getuid() && st.uid !== 0) || st.mode & 0o022)) {
      throw new Error(`${file} is owned by uid ${st.uid} with mode ${modeText(st.mode)}: another user could change it`);
    }
    const hash = crypto.createHash('sha256');
    const buffer = Buffer.alloc(1 << 20);
    for (let n; (n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0; ) hash.update(buffer.subarray(0, n));
    return hash.digest('hex');
  } finally {
    fs.closeSync(fd);
  }
}

/// Hashes the very file about to run; a mismatch fails closed.
function verify(file, expected, strict, hint) {
  let got;
  try {
    got = hashFile(file, strict);
  } catch (e) {
    throw new Error(`refusing to run ${file}: ${e.message}`);
  }
  if (got !== expected) {
    throw new Error(`refusing to run ${file}: its SHA-256 is ${got}, expected ${expected}; ${hint}`);
  }
}

/// The version, target and the two digests the manifest records for them.
function release(env, manifest) {
  const version = (input(env, 'version') || manifest.version).replace(/^v/, '');
  const t = target(env);
  const entry = (table) => (table && Object.hasOwn(table, version) && Object.hasOwn(table[version], t) ? table[version][t] : '');
  const asset = entry(manifest.sha256);
  const binary = entry(manifest.binary_sha256);
  if (!HEX64.test(asset) || !HEX64.test(binary)) {
    throw new Error(`no SHA-256 for truss-ci ${version} (${t}) in the action's manifest: refusing to run an unverified binary`);
  }
  return { version, t, asset, binary };
}

/// The roots the runner names that the shim may keep the binary under, best first.
function roots(env) {
  return [
    ['RUNNER_TOOL_CACHE', env.RUNNER_TOOL_CACHE],
    ['RUNNER_TEMP', env.RUNNER_TEMP],
  ].filter(([, root]) => root);
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

/// `loopbackHttp`: plain HTTP to 127.0.0.1 is allowed, for a release base a test passed in.
async function get(env, url, loopbackHttp, redirects = 5) {
  url = new URL(url);
  if (url.protocol !== 'https:' && !(loopbackHttp && url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw Object.assign(new Error(`refusing ${url.protocol} download from ${url.host}: HTTPS only`), { final: true });
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
    return get(env, new URL(response.headers.location, url), loopbackHttp, redirects - 1);
  }
  return response;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/// Downloads `url` into memory (at most MAX_DOWNLOAD bytes) and returns its bytes and their SHA-256;
/// retries network errors, 429 and 5xx.
async function download(env, url, loopbackHttp, out) {
  let lastError;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const response = await get(env, url, loopbackHttp);
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
      if (e.final) throw e;
      lastError = e;
    }
    if (attempt < ATTEMPTS) {
      const wait = Math.random() * Math.min(8000, 500 * 2 ** attempt);
      out.write(`truss-ci action: download attempt ${attempt} failed (${lastError.message}); retrying in ${(wait / 1000).toFixed(1)}s\n`);
      await sleep(wait);
    }
  }
  throw lastError;
}

/// Downloads the release asset into `dir`, checking the downloaded bytes before anything reads
/// them; the binary appears under its name only whole (a fresh temporary, then a rename).
async function fetchInto(env, src, rel, dir, binary) {
  const url = `${src.base}/v${rel.version}/${assetName(rel.t)}`;
  const { bytes, sha256 } = await download(env, url, src.loopbackHttp, src.out);
  if (sha256 !== rel.asset) {
    throw new Error(`SHA-256 mismatch for ${url}: expected ${rel.asset}, got ${sha256}; nothing was kept`);
  }
  const partial = path.join(dir, `.${crypto.randomUUID()}.partial`);
  try {
    fs.writeFileSync(partial, zlib.brotliDecompressSync(bytes, { maxOutputLength: MAX_BINARY }), { mode: 0o755, flag: 'wx' });
    fs.renameSync(partial, binary);
  } finally {
    fs.rmSync(partial, { force: true });
  }
}

/// The binary to run and the SHA-256 it must have: truss-ci-path (its digest taken now, so that
/// post runs the same bytes), else a verified copy under the first private root, downloaded if
/// missing. The caller hashes the file again right before running it.
async function findBinary(env, options) {
  const explicit = input(env, 'truss-ci-path');
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`truss-ci-path ${explicit} does not exist`);
    const binary = fs.realpathSync(explicit);
    return { binary, sha256: hashFile(binary, false), strict: false };
  }
  const src = sources(options);
  const rel = release(env, src.manifest);
  const refused = [];
  let dir;
  for (const [name, root] of roots(env)) {
    try {
      dir = binaryDir(root, rel.version, rel.t, true);
      break;
    } catch (e) {
      refused.push(`${name} cannot hold truss-ci safely (${e.message})`);
    }
  }
  let ownDir = null;
  if (!dir) {
    try {
      dir = ownDir = runDir();
    } catch (e) {
      refused.push(`no directory of its own in ${os.tmpdir()} can either (${e.message})`);
      throw new Error(`${refused.join('; ')}: set truss-ci-path to a binary you provide, or make one of these private`);
    }
  }
  // Routine on hosted runners, whose tool cache is world-writable (and empty): lines, not
  // annotations.
  for (const reason of refused) src.out.write(`truss-ci action: ${reason}; using ${dir}\n`);
  const binary = path.join(dir, binaryName(rel.t));
  try {
    if (!fs.existsSync(binary)) await fetchInto(env, src, rel, dir, binary);
  } catch (e) {
    if (ownDir) fs.rmSync(ownDir, { recursive: true, force: true });
    throw e;
  }
  return { binary, sha256: rel.binary, strict: true, runDir: ownDir };
}

/// In the post step, the binary main ran: the path main saved, accepted only where the shim
/// itself puts truss-ci (or truss-ci-path), with the digest main saved, which for the shim's own
/// copy must also be the manifest's.
function postBinary(env, options, binary) {
  const saved = env.STATE_TRUSS_CI_ACTION_SHA256 || '';
  if (!HEX64.test(saved)) throw new Error('the main step saved no SHA-256 for the binary it ran');
  const explicit = input(env, 'truss-ci-path');
  if (explicit) {
    let real = '';
    try {
      real = fs.realpathSync(explicit);
    } catch {
      // gone: refused below
    }
    if (binary !== real) throw new Error(`${binary} is not truss-ci-path (${explicit})`);
    return { sha256: saved, strict: false };
  }
  const rel = release(env, sources(options).manifest);
  if (saved !== rel.binary) throw new Error(`the SHA-256 main saved is not the manifest's for truss-ci ${rel.version} (${rel.t})`);
  for (const [, root] of roots(env)) {
    let dir;
    try {
      dir = binaryDir(root, rel.version, rel.t, false);
    } catch {
      continue;
    }
    if (binary === path.join(dir, binaryName(rel.t))) return { sha256: saved, strict: true };
  }
  if (path.basename(binary) === binaryName(rel.t) && isRunDir(path.dirname(binary))) {
    return { sha256: saved, strict: true, runDir: path.dirname(binary) };
  }
  throw new Error(`${binary} is not where this action keeps truss-ci, or its directory is no longer private`);
}

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

/// The one yes/no parser, for every boolean input: `true/false/yes/no/on/off/1/0` in any case; a
/// blank input is `fallback`. Any other value is an error naming the input, never a silent no.
function yesNo(env, name, fallback) {
  const value = input(env, name);
  if (!value) return fallback;
  if (TRUE.test(value)) return true;
  if (FALSE.test(value)) return false;
  throw new Error(`the ${name} input must be true or false (or yes/no, on/off, 1/0), not ${JSON.stringify(value)}`);
}

/// Every boolean input, checked in main before the login, so that a typo (`ture`, `flase`) in one
/// that only the post step reads (cleanup) fails the job at once rather than turning the post off.
function checkInputs(env) {
  for (const name of ['validate', 'isolate', 'cleanup']) yesNo(env, name, true);
}

/// The action's inputs as `truss-ci login` flags, and the env to run it with: the key (never on
/// argv) as BASETEN_API_KEY, read through --from-env; no INPUT_* variable. A blank input is unset.
function login(env) {
  checkInputs(env);
  const args = ['login'];
  for (const name of ['remote', 'remote-url', 'api-url', 'timeout', 'require-key-type']) {
    if (input(env, name)) args.push(`--${name}=${input(env, name)}`);
  }
  if (input(env, 'trussrc-path')) args.push(`--trussrc=${input(env, 'trussrc-path')}`);
  const exportEnv = input(env, 'export-env');
  if (/^truss-env$/i.test(exportEnv)) args.push('--export-env=truss-env');
  else if (/^key$/i.test(exportEnv) || TRUE.test(exportEnv)) args.push('--export-env');
  else if (exportEnv && !FALSE.test(exportEnv)) {
    throw new Error(`the export-env input must be true, false or truss-env, not ${JSON.stringify(exportEnv)}`);
  }
  if (!yesNo(env, 'validate', true)) args.push('--no-validate');
  if (yesNo(env, 'isolate', false)) args.push('--isolate');
  args.push(...jobKey(env));
  const profile = input(env, 'baseten-profile');
  if (TRUE.test(profile)) args.push('--baseten-profile');
  else if (profile && !FALSE.test(profile)) args.push(`--baseten-profile=${profile}`);
  return withKey(env, args);
}

const JOB_KEY_TYPES = /^(workspace-manage-all|workspace-invoke|workspace-export-metrics)$/i;

/// The job-key inputs as flags: `job-key` is true (a workspace-manage-all key), a key type, or
/// false; `model-ids` is a list separated by commas or white space.
function jobKey(env) {
  const kind = input(env, 'job-key');
  if (!kind || FALSE.test(kind)) return [];
  const args = [];
  if (TRUE.test(kind)) args.push('--job-key');
  else if (JOB_KEY_TYPES.test(kind)) args.push(`--job-key=${kind.toLowerCase()}`);
  else throw new Error(`the job-key input must be true, false or a key type (workspace-manage-all, workspace-invoke, workspace-export-metrics), not ${JSON.stringify(kind)}`);
  for (const id of (input(env, 'model-ids') || '').split(/[\s,]+/).filter(Boolean)) args.push(`--model-id=${id}`);
  if (input(env, 'team')) args.push(`--team=${input(env, 'team')}`);
  if (input(env, 'job-key-ttl')) args.push(`--job-key-ttl=${input(env, 'job-key-ttl')}`);
  return args;
}

/// The env to run truss-ci with: no INPUT_* variable, and the key (never on argv) as
/// BASETEN_API_KEY, read through --from-env.
function withKey(env, args) {
  const child = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('INPUT_')) child[name] = value;
  }
  if (input(env, 'api-key')) {
    child.BASETEN_API_KEY = input(env, 'api-key');
    args.push('--from-env');
  }
  return { args, child };
}

/// `logout --post`; with a job key, the key that minted it is handed over as main hands it to
/// login, so that the post can revoke the job key.
function logout(env) {
  const args = ['logout', '--post'];
  const kind = input(env, 'job-key');
  if (!kind || FALSE.test(kind)) return { args, child: env };
  for (const name of ['api-url', 'timeout']) {
    if (input(env, name)) args.push(`--${name}=${input(env, name)}`);
  }
  return withKey(env, args);
}

function run(binary, args, env) {
  const result = spawnSync(binary, args, { stdio: 'inherit', env });
  if (result.error) throw result.error;
  return result.status === null ? 1 : result.status;
}

async function post(env, options) {
  // main refused a cleanup it cannot read before the login, so nothing of its is left to undo;
  // were there, an unreadable value undoes it rather than leaving it.
  let cleanup = true;
  try {
    cleanup = yesNo(env, 'cleanup', true);
  } catch (e) {
    annotate(output(options), 'warning', `post: ${e.message}; cleaning up`);
  }
  if (!cleanup) return 0;
  const binary = env.STATE_TRUSS_CI_ACTION_BINARY;
  if (!binary) return 0; // main failed before it had a binary: nothing to undo
  let dir;
  try {
    let sha256;
    let strict;
    ({ sha256, strict, runDir: dir } = postBinary(env, options, binary));
    verify(binary, sha256, strict, 'it is not the binary main ran, so nothing was undone');
  } catch (e) {
    return fail(output(options), `post: ${e.message}`);
  }
  try {
    const command = logout(env);
    return run(binary, command.args, command.child);
  } finally {
    // The directory made for this run has served its two steps.
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/// The action's entry point, main and post. `options` ({ manifest, releaseBaseUrl, stdout }) is
/// for tests and the benchmark only; the runner passes none.
async function main(env = process.env, options = {}) {
  if (env.STATE_TRUSS_CI_ACTION_POST === 'true') return post(env, options);
  // First of all, so that the post step knows it is the post step even if main fails.
  appendState(env, 'TRUSS_CI_ACTION_POST', 'true');
  let command;
  try {
    command = login(env);
  } catch (e) {
    annotate(output(options), 'error', e.message);
    return 2;
  }
  let found;
  try {
    found = await findBinary(env, options);
    verify(found.binary, found.sha256, found.strict, `remove ${path.dirname(found.binary)} and find out who wrote it`);
    appendState(env, 'TRUSS_CI_ACTION_BINARY', found.binary);
    appendState(env, 'TRUSS_CI_ACTION_SHA256', found.sha256);
  } catch (e) {
    if (found?.runDir) fs.rmSync(found.runDir, { recursive: true, force: true });
    return fail(output(options), e.message);
  }
  return run(found.binary, command.args, command.child);
}

module.exports = { main, target, assetName, binaryName, binaryPath, noProxy, checkPrivateDir, TARGETS };

if (require.main === module) {
  main().then((code) => process.exit(code), (e) => process.exit(fail(process.stdout, e.stack || e.message)));
}
