// What main.js and post.js share: the task library loaded with the key masked first, the inputs
// as truss-ci flags, the binary (found, or downloaded and verified), and the run itself. All the
// logic of a login lives in truss-ci; this file only hands the inputs over.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { spawnSync } = require('node:child_process');

/// The task variables main leaves for post (scoped to this task instance by the agent).
const STATE_BINARY = 'TRUSS_CI_TASK_BINARY';
const STATE_SHA256 = 'TRUSS_CI_TASK_SHA256';
const STATE_RUNDIR = 'TRUSS_CI_TASK_RUNDIR';

/// Loads azure-pipelines-task-lib with `##vso[task.setsecret]` for the key as the first line on
/// stdout. The library prints debug lines while it loads (and moves INPUT_* into its vault), and
/// its getInput() prints every value it reads as a debug line; so the key is read from the
/// environment before the library loads, what the library prints while loading is held back, and
/// tl.setSecret goes out before it. Returns { tl, key }.
function loadTaskLib(env = process.env) {
  const key = (env.INPUT_APIKEY || '').trim();
  const held = [];
  const write = process.stdout.write;
  process.stdout.write = (chunk, encoding, callback) => {
    held.push(Buffer.from(chunk, typeof encoding === 'string' ? encoding : undefined));
    if (typeof encoding === 'function') encoding();
    else if (typeof callback === 'function') callback();
    return true;
  };
  let tl;
  try {
    tl = require('azure-pipelines-task-lib/task');
  } finally {
    process.stdout.write = write;
  }
  let maskError = null;
  try {
    if (key) tl.setSecret(key);
  } catch {
    // A key on several lines (the library refuses to mask it): never printed, refused below.
    maskError = 'the apiKey input holds a line break: it is not a Baseten API key';
  }
  for (const chunk of held) process.stdout.write(chunk);
  return { tl, key, maskError };
}

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

/// The one yes/no parser, for every boolean input: true/false/yes/no/on/off/1/0 in any case; a
/// blank input is `fallback`; anything else is an error naming the input (tl.getBoolInput would
/// read a typo as false).
function yesNo(tl, name, fallback) {
  const value = (tl.getInput(name, false) || '').trim();
  if (!value) return fallback;
  if (TRUE.test(value)) return true;
  if (FALSE.test(value)) return false;
  throw new Error(`the ${name} input must be true or false (or yes/no, on/off, 1/0), not ${JSON.stringify(value)}`);
}

function text(tl, name) {
  return (tl.getInput(name, false) || '').trim();
}

const JOB_KEY_TYPES = /^(workspace-manage-all|workspace-invoke|workspace-export-metrics)$/i;

/// The inputs as `truss-ci login` flags, each as `--flag=value`, so that a value starting with
/// `-` stays a value. Checks every boolean and pick list (cleanup included, which only post
/// reads) and throws before anything runs.
function loginArgs(tl) {
  yesNo(tl, 'cleanup', true);
  const args = ['login'];
  for (const [name, flag] of [
    ['remote', 'remote'],
    ['remoteUrl', 'remote-url'],
    ['apiUrl', 'api-url'],
    ['timeout', 'timeout'],
    ['requireKeyType', 'require-key-type'],
  ]) {
    const value = text(tl, name);
    if (value) args.push(`--${flag}=${value}`);
  }
  const exportEnv = text(tl, 'exportEnv');
  if (/^truss-env$/i.test(exportEnv)) args.push('--export-env=truss-env');
  else if (exportEnv && !FALSE.test(exportEnv)) {
    if (!TRUE.test(exportEnv)) {
      throw new Error(`the exportEnv input must be true, false or truss-env, not ${JSON.stringify(exportEnv)}`);
    }
    args.push('--export-env');
  }
  if (!yesNo(tl, 'validate', true)) args.push('--no-validate');
  // A job key of a type that cannot revoke itself, exported as BASETEN_API_KEY over the variable
  // the post-job step's `$(BASETEN_API_KEY)` expands to, is truss-ci's to refuse (exit 2).
  args.push(...jobKeyArgs(tl));
  const profile = text(tl, 'basetenProfile');
  if (TRUE.test(profile)) args.push('--baseten-profile');
  else if (profile && !FALSE.test(profile)) args.push(`--baseten-profile=${profile}`);
  args.push('--from-env');
  return args;
}

/// jobKey is false, true (a workspace-manage-all key) or a key type; modelIds is a list
/// separated by commas or white space.
function jobKeyArgs(tl) {
  const kind = text(tl, 'jobKey');
  if (!kind || FALSE.test(kind)) return [];
  const args = [];
  if (TRUE.test(kind)) args.push('--job-key');
  else if (JOB_KEY_TYPES.test(kind)) args.push(`--job-key=${kind.toLowerCase()}`);
  else {
    throw new Error(`the jobKey input must be true, false, workspace-manage-all, workspace-invoke or workspace-export-metrics, not ${JSON.stringify(kind)}`);
  }
  for (const id of text(tl, 'modelIds').split(/[\s,]+/).filter(Boolean)) args.push(`--model-id=${id}`);
  const team = text(tl, 'team');
  if (team) args.push(`--team=${team}`);
  const ttl = text(tl, 'jobKeyTtl');
  if (ttl) args.push(`--job-key-ttl=${ttl}`);
  return args;
}

/// `logout --post`; with a job key, also the API and the key that minted it (through the env,
/// as for login), so that the post can revoke the job key.
function logoutArgs(tl) {
  const args = ['logout', '--post'];
  const kind = text(tl, 'jobKey');
  if (!kind || FALSE.test(kind)) return { args, withKey: false };
  for (const [name, flag] of [['apiUrl', 'api-url'], ['timeout', 'timeout']]) {
    const value = text(tl, name);
    if (value) args.push(`--${flag}=${value}`);
  }
  args.push('--from-env');
  return { args, withKey: true };
}

/// Why a key cannot be used, without its value: empty, or a macro the agent left unexpanded
/// because no variable of that name reached this job.
function keyProblem(key) {
  if (!key) {
    return 'the apiKey input is empty: pass $(BASETEN_API_KEY) from a secret variable (secrets do not reach pull request builds from forks unless the pipeline allows it)';
  }
  if (/^\$\([^)]*\)$/.test(key)) {
    return `the apiKey input is the unexpanded ${key}: no variable of that name reached this job (a variable group not linked, or a pull request build from a fork)`;
  }
  return null;
}

/// The child's environment: the agent's, without the task's inputs and secrets, and the key as
/// BASETEN_API_KEY (read with --from-env), never on argv.
function childEnv(env, key) {
  const child = {};
  for (const [name, value] of Object.entries(env)) {
    if (!/^(INPUT_|SECRET_|VSTS_TASKVARIABLE_|ENDPOINT_AUTH_)/.test(name)) child[name] = value;
  }
  if (key) child.BASETEN_API_KEY = key;
  return child;
}

/// The command line as the log shows it: a value cannot start a logging command (`##vso[`, `##[`,
/// as truss-ci neutralises them itself) nor a line of its own.
function shownCommand(binary, args) {
  return [binary, ...args].join(' ').replace(/[\r\n]+/g, ' ').replace(/##/g, '# #');
}

/// Runs the binary with its output streamed to the log; the `[command]` line is the task
/// library's own convention (the key is never among the arguments). Returns the exit code.
function run(binary, args, env) {
  process.stdout.write(`[command]${shownCommand(binary, args)}${os.EOL}`);
  const result = spawnSync(binary, args, { stdio: ['ignore', 'inherit', 'inherit'], env });
  if (result.error) throw result.error;
  return result.status === null ? 1 : result.status;
}

const MEANING = {
  1: 'an unexpected error in truss-ci (report it, with the version)',
  2: 'a usage error: a bad input, or a missing or malformed key',
  3: 'the Baseten API rejected the key (401) or it is restricted (403), or its type is not the one required',
  4: 'the Baseten API was unreachable before the deadline, or something else answered',
  5: 'a local file could not be read, locked or written, or an output failed and the login was rolled back',
};

function exitMessage(what, code) {
  return `truss-ci ${what} exited with ${code}: ${MEANING[code] || 'see the log above'}`;
}

// --- The binary: found, or downloaded and verified ---------------------------------------------
//
// Verification copied in its minimal form from action/main.js (hashFile, release, the download's
// two digests): the task is packed alone, so it cannot require the action. The manifest is
// action/manifest.json, copied beside this file when the task is packed.

const HEX64 = /^[0-9a-f]{64}$/;
const MAX_DOWNLOAD = 32 * 1024 * 1024;
const MAX_BINARY = 64 * 1024 * 1024;
const TARGETS = {
  'Linux/X64': 'x86_64-unknown-linux-musl',
  'Linux/ARM64': 'aarch64-unknown-linux-musl',
  'Darwin/X64': 'x86_64-apple-darwin',
  'Darwin/ARM64': 'aarch64-apple-darwin',
  'Windows_NT/X64': 'x86_64-pc-windows-msvc',
};

/// The release target for the agent's Agent.OS and Agent.OSArchitecture.
function target(agentOs, arch) {
  const t = TARGETS[`${agentOs}/${arch}`];
  if (!t) throw new Error(`no truss-ci build for an agent on ${agentOs}/${arch}: set the trussCiPath input to a truss-ci you provide`);
  return t;
}

/// The SHA-256 of a regular file, read through one descriptor that does not follow a symlink.
function sha256File(file) {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW || 0));
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    const hash = crypto.createHash('sha256');
    const buffer = Buffer.alloc(1 << 20);
    for (let n; (n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0; ) hash.update(buffer.subarray(0, n));
    return hash.digest('hex');
  } finally {
    fs.closeSync(fd);
  }
}

/// Throws unless the file at `file` has the SHA-256 `expected`.
function verifyFile(file, expected, hint) {
  let got;
  try {
    got = sha256File(file);
  } catch (e) {
    throw new Error(`refusing to run ${file}: ${e.message}`);
  }
  if (!HEX64.test(expected || '') || got !== expected) {
    throw new Error(`refusing to run ${file}: its SHA-256 is ${got}, expected ${expected || 'none'}; ${hint}`);
  }
}

/// The version and the two digests the manifest records for it and `t`: of the downloaded asset
/// (brotli-compressed) and of the binary inside.
function release(manifest, version, t) {
  version = (version || manifest.version || '').replace(/^v/, '');
  const entry = (table) => (table && Object.hasOwn(table, version) && Object.hasOwn(table[version], t) ? table[version][t] : '');
  const asset = entry(manifest.sha256);
  const binary = entry(manifest.binary_sha256);
  if (!HEX64.test(asset) || !HEX64.test(binary)) {
    throw new Error(`no SHA-256 for truss-ci ${version} (${t}) in the task's manifest: refusing to run an unverified binary; set the trussCiPath input to a truss-ci you provide`);
  }
  return { version, t, asset, binary };
}

/// `loopbackHttp`: plain HTTP to 127.0.0.1 is allowed, for a release base a caller passed in
/// (tests and the release rehearsal; no input or variable can).
function get(url, loopbackHttp, redirects = 5) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const loopback = loopbackHttp && u.protocol === 'http:' && /^127\.\d+\.\d+\.\d+$/.test(u.hostname);
    if (u.protocol !== 'https:' && !loopback) return reject(new Error(`refusing ${u.protocol} download from ${u.host}: HTTPS only`));
    const req = (loopback ? http : https).get(u, { headers: { 'User-Agent': 'truss-ci-azure-task' }, timeout: 60000 }, (res) => {
      if ([301, 302, 303, 307, 308].includes(res.statusCode) && res.headers.location && redirects > 0) {
        res.resume();
        return resolve(get(new URL(res.headers.location, u).href, loopbackHttp, redirects - 1));
      }
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`${url} answered ${res.statusCode}`));
      }
      const chunks = [];
      let size = 0;
      res.on('data', (chunk) => {
        size += chunk.length;
        if (size > MAX_DOWNLOAD) res.destroy(new Error(`${url} is larger than ${MAX_DOWNLOAD} bytes`));
        else chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () => resolve(Buffer.concat(chunks)));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/// Downloads the release asset into a fresh 0700 directory under `tempRoot`, checking the
/// downloaded bytes against the manifest before anything reads them. Returns the binary's path
/// and the directory. `base`: the releases' download URL, GitHub's unless a caller passes one.
async function download(manifest, rel, tempRoot, log, base) {
  const releases = (base || `https://github.com/${manifest.repository}/releases/download`).replace(/\/+$/, '');
  const url = `${releases}/v${rel.version}/truss-ci-${rel.t}.br`;
  let bytes;
  for (let attempt = 1; ; attempt++) {
    try {
      bytes = await get(url, Boolean(base));
      break;
    } catch (e) {
      if (attempt === 3 || /HTTPS only|answered 4/.test(e.message)) throw e;
      log(`download attempt ${attempt} failed (${e.message}); retrying`);
      await new Promise((r) => setTimeout(r, 2000 * attempt));
    }
  }
  const got = crypto.createHash('sha256').update(bytes).digest('hex');
  if (got !== rel.asset) throw new Error(`SHA-256 mismatch for ${url}: expected ${rel.asset}, got ${got}; nothing was kept`);
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(tempRoot), 'truss-ci-'));
  const binary = path.join(dir, rel.t.includes('windows') ? 'truss-ci.exe' : 'truss-ci');
  fs.writeFileSync(binary, zlib.brotliDecompressSync(bytes, { maxOutputLength: MAX_BINARY }), { mode: 0o755, flag: 'wx' });
  return { binary, runDir: dir };
}

/// The binary main runs and its SHA-256 (taken now, so that post runs the same bytes), as the
/// GitHub action finds it: the file the trussCiPath input names, else the release for this agent,
/// downloaded and verified against manifest.json beside this file. Never a truss-ci on PATH or one
/// a variable names: no earlier step can choose what runs. `options` ({ manifestFile,
/// releaseBaseUrl }) is for tests and the release rehearsal only.
async function findBinary(tl, options = {}) {
  const explicit = text(tl, 'trussCiPath');
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`trussCiPath ${explicit} does not exist`);
    const binary = fs.realpathSync(explicit);
    return { binary, sha256: sha256File(binary) };
  }
  const manifestFile = options.manifestFile || path.join(__dirname, 'manifest.json');
  if (!fs.existsSync(manifestFile)) {
    throw new Error('the task has no manifest.json to verify a download with (it is packed with the release\'s action/manifest.json): set the trussCiPath input to a truss-ci you provide');
  }
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  const rel = release(manifest, text(tl, 'version'), target(tl.getVariable('Agent.OS'), tl.getVariable('Agent.OSArchitecture')));
  const tempRoot = tl.getVariable('Agent.TempDirectory') || os.tmpdir();
  const found = await download(manifest, rel, tempRoot, (line) => console.log(line), options.releaseBaseUrl);
  return { ...found, sha256: rel.binary };
}

module.exports = {
  STATE_BINARY,
  STATE_SHA256,
  STATE_RUNDIR,
  TARGETS,
  loadTaskLib,
  yesNo,
  loginArgs,
  logoutArgs,
  keyProblem,
  childEnv,
  run,
  exitMessage,
  shownCommand,
  target,
  sha256File,
  verifyFile,
  release,
  findBinary,
};
