// Shared by the tests: the task's steps run with azure-pipelines-task-lib's MockTestRunner
// (mock-test), the documented way to test a task, on this Node (the runner would otherwise
// download the Node that task.json's handler names). Without the library installed, the tests
// skip loudly, or fail with TRUSS_CI_REQUIRE_INTEROP=1.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { START } = require('./mockrun.js');

const TASK = path.join(__dirname, '..');
const KEY = 'azTEST01.s3cretValue1234';

let lib = null;
let missing = null;
try {
  lib = {
    MockTestRunner: require('azure-pipelines-task-lib/mock-test').MockTestRunner,
    commandFromString: require('azure-pipelines-task-lib/taskcommand').commandFromString,
  };
} catch (e) {
  missing = `azure-pipelines-task-lib is not installed in ${TASK}/node_modules (${e.code || e.message}): run scripts/setup-azure-task.sh`;
}

/// The options for a test that needs the task library: a loud skip when it is missing, and a
/// failing test instead when TRUSS_CI_REQUIRE_INTEROP=1.
function needsLib() {
  if (!missing) return {};
  if (process.env.TRUSS_CI_REQUIRE_INTEROP === '1') return {};
  process.stderr.write(`SKIPPED: ${missing}\n`);
  return { skip: missing };
}

function requireLib() {
  if (missing) assert.fail(`${missing} (TRUSS_CI_REQUIRE_INTEROP=1)`);
}

/// The system's directories for PATH, less any that holds a truss-ci of its own.
function cleanPath() {
  return ['/usr/bin', '/bin'].filter((d) => fs.existsSync(d) && !fs.existsSync(path.join(d, 'truss-ci'))).join(path.delimiter);
}

/// A scratch job: a HOME, the stub as bin/truss-ci (run by this Node, whatever PATH holds), a log,
/// the environment an agent gives a task, with nothing of the caller's Baseten settings, and the
/// input that names the stub as the binary to run (`inputs`, for every step).
function job() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'truss-ci-azure-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.mkdirSync(path.join(dir, 'home'));
  const stub = path.join(dir, 'bin', 'truss-ci');
  const source = fs.readFileSync(path.join(__dirname, 'stub-truss-ci.js'), 'utf8').replace(/^#!.*\n/, '');
  fs.writeFileSync(stub, `#!${process.execPath}\n${source}`, { mode: 0o755 });
  const env = {
    PATH: cleanPath(),
    HOME: path.join(dir, 'home'),
    STUB_LOG: path.join(dir, 'stub.log'),
    AGENT_TEMPDIRECTORY: dir,
    TF_BUILD: 'True',
    BUILD_BUILDID: '5',
    SYSTEM_JOBID: 'job-1',
  };
  for (const name of Object.keys(process.env)) {
    if (!(name in env) && /^(BASETEN_|USER_TRUSSRC_PATH$|STUB_|SYSTEM_DEBUG$|INPUT_|SECRET_|VSTS_TASKVARIABLE_)/.test(name)) {
      env[name] = null;
    }
  }
  const runs = () =>
    fs.existsSync(env.STUB_LOG)
      ? fs.readFileSync(env.STUB_LOG, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))
      : [];
  return { dir, stub, env, inputs: { trussCiPath: stub }, runs, close: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/// Runs one step (`main` or `post`) of the task with MockTestRunner; returns the runner (stdout,
/// succeeded, errorIssues, cmdlines), the stdout lines and the task variables it set.
async function step(which, { inputs = {}, taskVariables = {}, env = {} } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'truss-ci-azure-case-'));
  const spec = path.join(dir, 'case.json');
  fs.writeFileSync(spec, JSON.stringify({ inputs, taskVariables, env }));
  const tr = new lib.MockTestRunner(path.join(__dirname, `run-${which}.js`), path.join(TASK, 'task.json'));
  tr.nodePath = process.execPath;
  const before = process.env.TRUSS_CI_TASK_CASE;
  process.env.TRUSS_CI_TASK_CASE = spec;
  try {
    await tr.runAsync();
  } finally {
    if (before === undefined) delete process.env.TRUSS_CI_TASK_CASE;
    else process.env.TRUSS_CI_TASK_CASE = before;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const all = tr.stdout.split(/\r?\n/).filter((l) => l !== '');
  const start = all.indexOf(START);
  assert.ok(start >= 0, `the task never started:\n${tr.stdout}\n${tr.stderr}`);
  // Before the task: only the mock runner's library loading, and never the key.
  for (const line of all.slice(0, start)) {
    assert.ok(line.startsWith('##vso[task.debug]') && !line.includes(KEY), `before the task: ${line}`);
  }
  const lines = all.slice(start + 1);
  const out = lines.join('\n');
  const variables = {};
  for (const line of lines) {
    if (!line.startsWith('##vso[task.settaskvariable ')) continue;
    const cmd = lib.commandFromString(line);
    variables[cmd.properties.variable] = cmd.message;
  }
  return { tr, lines, variables, out, err: tr.stderr };
}

/// A message for assert: what the step printed.
function shown(r) {
  return `stdout:\n${r.out}\nstderr:\n${r.err}`;
}

module.exports = { TASK, KEY, needsLib, requireLib, job, step, shown };
