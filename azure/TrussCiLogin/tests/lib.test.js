// The task's pieces without the agent: the yes/no parser and the flags (over a stand-in for the
// task library's getInput), the binary's verification, and task.json against the code and
// Cargo.toml.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');

const lib = require('../lib.js');

const TASK = path.join(__dirname, '..');
const ROOT = path.join(TASK, '..', '..');

/// A stand-in for the task library: getInput over a table, getVariable over another.
function fakeTl(inputs = {}, variables = {}) {
  return {
    getInput: (name) => inputs[name],
    getVariable: (name) => variables[name],
  };
}

test('yes/no: true/false/yes/no/on/off/1/0 in any case, blank is the default, anything else an error', () => {
  for (const v of ['true', 'TRUE', 'yes', 'On', '1']) assert.equal(lib.yesNo(fakeTl({ x: v }), 'x', false), true, v);
  for (const v of ['false', 'False', 'no', 'OFF', '0']) assert.equal(lib.yesNo(fakeTl({ x: v }), 'x', true), false, v);
  assert.equal(lib.yesNo(fakeTl({ x: '  ' }), 'x', true), true);
  assert.equal(lib.yesNo(fakeTl({}), 'x', false), false);
  for (const v of ['ture', 'y', 'n', '2', 'false-ish']) {
    assert.throws(() => lib.yesNo(fakeTl({ x: v }), 'x', true), /the x input must be true or false/, v);
  }
});

test('every pick-list option in task.json is a value the flags accept', () => {
  const task = JSON.parse(fs.readFileSync(path.join(TASK, 'task.json'), 'utf8'));
  for (const input of task.inputs.filter((i) => i.type === 'pickList' || i.type === 'boolean')) {
    const values = input.type === 'boolean' ? ['true', 'false'] : Object.keys(input.options);
    for (const value of [...values, input.defaultValue]) {
      assert.doesNotThrow(() => lib.loginArgs(fakeTl({ [input.name]: value })), `${input.name}=${value}`);
    }
  }
});

test('logout --post hands on the key only with a job key', () => {
  assert.deepEqual(lib.logoutArgs(fakeTl({ apiUrl: 'u', jobKey: 'false' })), { args: ['logout', '--post'], withKey: false });
  assert.deepEqual(lib.logoutArgs(fakeTl({ apiUrl: 'u', jobKey: 'workspace-invoke' })), {
    args: ['logout', '--post', '--api-url=u', '--from-env'],
    withKey: true,
  });
});

test('the child env: no input, secret or task variable; the key as BASETEN_API_KEY', () => {
  const env = lib.childEnv({ PATH: '/bin', INPUT_APIKEY: 'k', SECRET_X: 's', VSTS_TASKVARIABLE_Y: 'y', ENDPOINT_AUTH_Z: 'z', BASETEN_API_KEY: 'old' }, 'new');
  assert.deepEqual(env, { PATH: '/bin', BASETEN_API_KEY: 'new' });
  assert.deepEqual(lib.childEnv({ PATH: '/bin' }, ''), { PATH: '/bin' });
});

test('the verification: a file with a known SHA-256 passes, any other digest or a symlink is refused', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'truss-ci-azure-verify-'));
  try {
    const file = path.join(dir, 'truss-ci');
    fs.writeFileSync(file, 'abc');
    // SHA-256("abc"), FIPS 180-2's example.
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    assert.equal(lib.sha256File(file), abc);
    assert.doesNotThrow(() => lib.verifyFile(file, abc, 'hint'));
    assert.throws(() => lib.verifyFile(file, 'f'.repeat(64), 'hint'), /refusing to run .*its SHA-256 is ba7816bf.*expected f{64}; hint/);
    assert.throws(() => lib.verifyFile(file, '', 'hint'), /expected none/);
    fs.symlinkSync(file, path.join(dir, 'link'));
    assert.throws(() => lib.verifyFile(path.join(dir, 'link'), abc, 'hint'), /refusing to run/);
    assert.throws(() => lib.verifyFile(dir, abc, 'hint'), /not a regular file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the manifest: both digests for the version and target, or no download at all', () => {
  const t = lib.target('Linux', 'X64');
  assert.equal(t, 'x86_64-unknown-linux-musl');
  assert.equal(lib.target('Windows_NT', 'X64'), 'x86_64-pc-windows-msvc');
  assert.throws(() => lib.target('Linux', 'ARM'), /no truss-ci build for an agent on Linux\/ARM/);
  const a = crypto.createHash('sha256').update('asset').digest('hex');
  const b = crypto.createHash('sha256').update('binary').digest('hex');
  const manifest = { version: '0.1.0', sha256: { '0.1.0': { [t]: a } }, binary_sha256: { '0.1.0': { [t]: b } } };
  assert.deepEqual(lib.release(manifest, '', t), { version: '0.1.0', t, asset: a, binary: b });
  assert.deepEqual(lib.release(manifest, 'v0.1.0', t).binary, b);
  assert.throws(() => lib.release(manifest, '0.2.0', t), /no SHA-256 for truss-ci 0\.2\.0/);
  assert.throws(() => lib.release({ ...manifest, binary_sha256: {} }, '', t), /refusing to run an unverified binary/);
  // The committed manifest the task is packed with has the same shape.
  const committed = JSON.parse(fs.readFileSync(path.join(ROOT, 'action', 'manifest.json'), 'utf8'));
  assert.deepEqual(Object.keys(committed).sort(), ['binary_sha256', 'image_sha256', 'repository', 'sha256', 'version']);
});

test('task.json: the version is Cargo.toml\'s, the inputs are the ones the code reads, the handlers exist', () => {
  const task = JSON.parse(fs.readFileSync(path.join(TASK, 'task.json'), 'utf8'));
  const cargo = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8').match(/^version = "(\d+)\.(\d+)\.(\d+)"$/m);
  assert.deepEqual(task.version, { Major: Number(cargo[1]), Minor: Number(cargo[2]), Patch: Number(cargo[3]) });
  const pkg = JSON.parse(fs.readFileSync(path.join(TASK, 'package.json'), 'utf8'));
  assert.equal(pkg.version, `${cargo[1]}.${cargo[2]}.${cargo[3]}`);
  assert.match(task.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(task.name, 'TrussCiLogin');
  assert.equal(task.category, 'Utility');
  assert.ok(task.friendlyName.length <= 40);
  assert.deepEqual(task.inputs.map((i) => i.name).sort(), [
    'apiKey', 'apiUrl', 'basetenProfile', 'cleanup', 'exportEnv', 'jobKey', 'jobKeyTtl', 'modelIds', 'remote', 'remoteUrl',
    'requireKeyType', 'team', 'timeout', 'trussCiPath', 'validate', 'version',
  ]);
  const code = ['lib.js', 'main.js', 'post.js'].map((f) => fs.readFileSync(path.join(TASK, f), 'utf8')).join('\n');
  for (const { name } of task.inputs) {
    if (name !== 'apiKey') assert.match(code, new RegExp(`'${name}'`), `the code reads ${name}`);
  }
  const apiKey = task.inputs.find((i) => i.name === 'apiKey');
  assert.equal(apiKey.type, 'string');
  assert.match(apiKey.helpMarkDown, /\$\(BASETEN_API_KEY\)/);
  assert.equal(task.inputs.find((i) => i.name === 'cleanup').defaultValue, 'true');
  assert.deepEqual(task.execution, { Node20_1: { target: 'main.js' } });
  assert.deepEqual(task.postjobexecution, { Node20_1: { target: 'post.js' } });
  // The task library, pinned exactly, as the lockfile has it.
  const lock = JSON.parse(fs.readFileSync(path.join(TASK, 'package-lock.json'), 'utf8'));
  const pin = pkg.dependencies['azure-pipelines-task-lib'];
  assert.match(pin, /^\d+\.\d+\.\d+$/);
  assert.equal(lock.packages['node_modules/azure-pipelines-task-lib'].version, pin);
});

test('a restricted job key with exportEnv is truss-ci\'s to judge: the flags reach it as given', () => {
  const { loginArgs } = require('../lib.js');
  const tl = (inputs) => ({ getInput: (name) => inputs[name] || '' });
  for (const jobKey of ['workspace-invoke', 'Workspace-Export-Metrics']) {
    for (const [exportEnv, flag] of [['true', '--export-env'], ['truss-env', '--export-env=truss-env']]) {
      assert.deepEqual(loginArgs(tl({ jobKey, exportEnv })), ['login', flag, `--job-key=${jobKey.toLowerCase()}`, '--from-env']);
    }
  }
});

test('basetenProfile: true names the profile after the remote, a name is one flag\'s value', () => {
  const cases = [['true', ['--baseten-profile']], ['Yes', ['--baseten-profile']], ['ci-1', ['--baseten-profile=ci-1']],
    ['-x', ['--baseten-profile=-x']], ['off', []], ['', []]];
  for (const [value, flags] of cases) {
    assert.deepEqual(lib.loginArgs(fakeTl({ basetenProfile: value })), ['login', ...flags, '--from-env'], value);
  }
});

test('the command line the log shows cannot start a logging command', () => {
  const { shownCommand } = require('../lib.js');
  const shown = shownCommand('/bin/truss-ci', ['login', '--team=a ##vso[task.prependpath]/tmp/x', '--remote=x\n##[error]y']);
  assert.ok(!shown.includes('##'), shown);
  assert.ok(!/[\r\n]/.test(shown), shown);
});

/// Serves `files` (name → bytes) under /releases/download/v0.1.0/ on 127.0.0.1; { base, hits, close }.
async function releaseServer(files) {
  const http = require('node:http');
  const hits = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url);
    const name = req.url.replace(/^\/releases\/download\/v0\.1\.0\//, '');
    if (!Object.hasOwn(files, name)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200);
    res.end(files[name]);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${server.address().port}/releases/download`, hits, close: () => new Promise((r) => server.close(r)) };
}

test('the download: the release asset for the agent, checked against the manifest before it is kept, or nothing is kept', async () => {
  const zlib = require('node:zlib');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'truss-ci-azure-download-'));
  const binary = Buffer.from('#!/bin/sh\necho truss-ci\n');
  const asset = zlib.brotliCompressSync(binary);
  const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
  const t = 'x86_64-unknown-linux-musl';
  const manifestFile = path.join(dir, 'manifest.json');
  fs.writeFileSync(manifestFile, JSON.stringify({ version: '0.1.0', repository: 'x/y', sha256: { '0.1.0': { [t]: sha(asset) } }, binary_sha256: { '0.1.0': { [t]: sha(binary) } } }));
  const temp = path.join(dir, 'agent-temp');
  fs.mkdirSync(temp);
  const tl = fakeTl({}, { 'Agent.OS': 'Linux', 'Agent.OSArchitecture': 'X64', 'Agent.TempDirectory': temp });
  const good = await releaseServer({ [`truss-ci-${t}.br`]: asset });
  try {
    const found = await lib.findBinary(tl, { manifestFile, releaseBaseUrl: good.base });
    assert.deepEqual(good.hits, [`/releases/download/v0.1.0/truss-ci-${t}.br`]);
    assert.equal(found.sha256, sha(binary));
    assert.equal(lib.sha256File(found.binary), sha(binary));
    assert.equal(path.dirname(found.binary), found.runDir);
    assert.equal(path.dirname(found.runDir), fs.realpathSync(temp));
    assert.equal(fs.statSync(found.runDir).mode & 0o777, 0o700);
    fs.rmSync(found.runDir, { recursive: true });
    // Another version than the manifest's: no SHA-256, no request.
    await assert.rejects(lib.findBinary(fakeTl({ version: '0.2.0' }, { 'Agent.OS': 'Linux', 'Agent.OSArchitecture': 'X64', 'Agent.TempDirectory': temp }), { manifestFile, releaseBaseUrl: good.base }), /no SHA-256 for truss-ci 0\.2\.0/);
    assert.equal(good.hits.length, 1);
  } finally {
    await good.close();
  }
  const tampered = await releaseServer({ [`truss-ci-${t}.br`]: zlib.brotliCompressSync(Buffer.from('#!/bin/sh\necho other\n')) });
  try {
    await assert.rejects(lib.findBinary(tl, { manifestFile, releaseBaseUrl: tampered.base }), /SHA-256 mismatch for .*nothing was kept/);
    assert.deepEqual(fs.readdirSync(temp), [], 'nothing was written');
    // Plain HTTP is refused but for a release base a caller passed in, on 127.0.0.1.
    await assert.rejects(lib.findBinary(tl, { manifestFile, releaseBaseUrl: 'http://example.com/releases/download' }), /HTTPS only/);
  } finally {
    await tampered.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
