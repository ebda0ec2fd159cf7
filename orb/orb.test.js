// The orb's tests, with Node's own runner (`node --test orb/`): the packing, CircleCI's own config
// parser (@circleci/circleci-config-parser, installed by scripts/setup-orb.sh) on the packed orb
// and on configs that use it, that no parameter is spliced into a command's shell text, and the
// scripts with a stub truss-ci on PATH that records its argv and environment. A missing tool is a
// loud skip, or a failure under TRUSS_CI_REQUIRE_INTEROP=1.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const test = require('node:test');
const { spawnSync } = require('node:child_process');
const { pack, stamp } = require('../scripts/pack-orb.js');

const ROOT = path.join(__dirname, '..');
const ORB = __dirname;
const REQUIRE = process.env.TRUSS_CI_REQUIRE_INTEROP === '1';
const KEY = 'orbtest01.S3cretKeyNeverInArgv';

function skipOrFail(t, message) {
  if (REQUIRE) assert.fail(`${message} (TRUSS_CI_REQUIRE_INTEROP=1)`);
  process.stderr.write(`SKIPPED: ${message}\n`);
  t.skip(message);
}

/// The npm packages scripts/setup-orb.sh installs, or null.
function npm() {
  const dir = path.resolve(process.env.TRUSS_CI_ORB_NPM || path.join(ROOT, 'target', 'interop', 'orb-npm'));
  const modules = path.join(dir, 'node_modules');
  if (!fs.existsSync(path.join(modules, '@circleci', 'circleci-config-parser'))) return null;
  return {
    parser: require(path.join(modules, '@circleci', 'circleci-config-parser')),
    yaml: require(path.join(modules, 'yaml')),
  };
}

const packed = pack(ORB);

// --- packing ----------------------------------------------------------------------------------

test('pack: @orb.yml, then commands, jobs and examples keyed by file name', () => {
  assert.match(packed, /^version: 2\.1\n/);
  for (const [section, names] of [['commands', ['install', 'login', 'logout']], ['jobs', ['deploy']], ['examples', ['deploy']]]) {
    const files = fs.readdirSync(path.join(ORB, section)).map((f) => f.replace(/\.yml$/, '')).sort();
    assert.deepEqual(files, names);
    assert.match(packed, new RegExp(`^${section}:\\n(?:.*\\n)*?  ${names[0]}:\\n`, 'm'));
  }
  assert.doesNotMatch(packed, /<<include\(/);
  assert.doesNotMatch(packed, /\t/);
});

test('pack: a version stamp sets the default of every version parameter, and only those', () => {
  const stamped = pack(ORB, 'v7.8.9');
  const defaults = stamped.match(/^\s+version:\n(?:\s+(?!default:).*\n)*?\s+default: "7\.8\.9"$/gm) || [];
  assert.equal(defaults.length, 3, 'install, login and deploy each have one version parameter');
  assert.equal(stamped.replace(/"7\.8\.9"/g, '"0.1.0"'), packed);
  assert.throws(() => pack(ORB, '1.2'), /not a version/);
  assert.throws(() => pack(ORB, '1.2.3 --evil'), /not a version/);
  // An empty default (use what is on PATH) stays empty.
  assert.equal(stamp('  version:\n    type: string\n    default: ""\n', '1.0.0'), '  version:\n    type: string\n    default: ""\n');
});

test("pack: the source's version defaults are the crate's version (the release stamps its own)", () => {
  const version = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8').match(/^version = "(.*)"$/m)[1];
  assert.equal(pack(ORB, version), packed);
});

test('pack: the command line writes the file --out names', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orb-pack-'));
  try {
    const out = path.join(dir, 'orb.yml');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'pack-orb.js'), `--out=${out}`, '0.1.0'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(out, 'utf8'), packed);
    const bad = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'pack-orb.js'), 'x.y'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /not a version/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// --- no parameter in shell text -----------------------------------------------------------------

/// Every string in `node` with its path.
function strings(node, at = []) {
  if (typeof node === 'string') return [[at.join('.'), node]];
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) => strings(v, [...at, k]));
}

test('no parameter is spliced into shell text: only into environment, names and parameters', (t) => {
  const lib = npm();
  if (!lib) return skipOrFail(t, 'no @circleci/circleci-config-parser (and yaml): run scripts/setup-orb.sh');
  const orb = lib.yaml.parse(packed);
  const spliced = strings({ commands: orb.commands, jobs: orb.jobs }).filter(([, s]) => s.includes('<<'));
  assert.ok(spliced.length > 20);
  for (const [where, value] of spliced) {
    assert.doesNotMatch(where, /\.command$/, `${where} holds ${value}`);
    assert.match(value, /^<< parameters\.[a-z-]+ >>$/, `${where}: a parameter is the whole value`);
    assert.match(where, /\.(environment\.ORB_PARAM_[A-Z_]+|image|steps\.\d+\.(install|login|logout)\.[a-z-]+|steps\.\d+\.steps)$/, where);
  }
  // Every command body is exactly its script, with no CircleCI syntax inside.
  const bodies = strings({ commands: orb.commands, jobs: orb.jobs }).filter(([where]) => where.endsWith('.run.command'));
  assert.equal(bodies.length, 3, 'install, login and logout: one run step each');
  for (const [where, body] of bodies) {
    assert.doesNotMatch(body, /<</, `${where}: CircleCI reads << in a config as its own syntax`);
    const script = fs.readdirSync(path.join(ORB, 'scripts')).find((f) => fs.readFileSync(path.join(ORB, 'scripts', f), 'utf8') === body);
    assert.ok(script, `${where} is one of orb/scripts, byte for byte`);
  }
  // And the text: a `<< parameters.` line is never inside a `command:` block.
  let block = null;
  for (const line of packed.split('\n')) {
    const indent = line.match(/^ */)[0].length;
    if (block !== null && line.trim() && indent <= block) block = null;
    if (block !== null) assert.doesNotMatch(line, /<<\s*parameters\./, line);
    if (/^\s*command: \|$/.test(line)) block = indent;
  }
});

// --- CircleCI's parser --------------------------------------------------------------------------

/// What this parser cannot read, rewritten as CircleCI compiles it: its step schema predates the
/// `steps:` parameter step (a placeholder run takes its place) and its orb-step pattern
/// (`^[a-z]*/…`) rejects a `-` in an orb alias in the bare string form, which CircleCI reads as
/// the same step with no parameters.
function forParser(steps) {
  return steps.map((step) => {
    if (typeof step === 'string' && step.includes('/')) return { [step]: {} };
    if (step && typeof step === 'object' && 'steps' in step) return { run: { name: 'the steps parameter', command: 'true' } };
    return step;
  });
}

function manifest(lib, orb) {
  const params = (section) => Object.fromEntries(Object.entries(orb[section]).map(([k, v]) => [k, v.parameters || {}]));
  return lib.parser.parseOrbManifest({ commands: params('commands'), jobs: params('jobs') });
}

function withParserSteps(config) {
  const copy = structuredClone(config);
  for (const job of Object.values(copy.jobs || {})) job.steps = forParser(job.steps);
  return copy;
}

test('the packed orb parses: its commands, its job, and logout runs when: always', (t) => {
  const lib = npm();
  if (!lib) return skipOrFail(t, 'no @circleci/circleci-config-parser: run scripts/setup-orb.sh');
  const orb = lib.yaml.parse(packed);
  assert.equal(orb.version, 2.1);
  assert.ok(orb.description && orb.display.home_url && orb.display.source_url);
  const commands = lib.parser.parseReusableCommands(orb.commands);
  assert.deepEqual(commands.map((c) => c.name), ['install', 'login', 'logout']);
  const jobs = lib.parser.parseJobList(withParserSteps({ jobs: orb.jobs }).jobs, commands);
  assert.deepEqual(jobs.map((j) => j.name), ['deploy']);
  const run = (name) => commands.find((c) => c.name === name).steps.at(-1).parameters;
  assert.equal(run('logout').when, 'always');
  assert.equal(run('login').when, undefined);
  // The job: checkout, install, login, the user's steps, then the logout command.
  const names = orb.jobs.deploy.steps.map((s) => (typeof s === 'string' ? s : Object.keys(s)[0]));
  assert.deepEqual(names, ['checkout', 'install', 'login', 'steps', 'logout']);
  assert.equal(jobs[0].steps.at(-1).name, 'logout');
  assert.equal(orb.jobs.deploy.parameters.steps.type, 'steps');
  for (const def of [orb.commands.login.parameters, orb.commands.logout.parameters, orb.jobs.deploy.parameters]) {
    assert.deepEqual(def['api-key-env'], { ...def['api-key-env'], type: 'env_var_name', default: 'BASETEN_API_KEY' });
  }
  assert.deepEqual(orb.commands.login.parameters['export-env'].enum, ['true', 'false', 'truss-env']);
  assert.deepEqual(orb.commands.login.parameters['job-key'].enum, ['false', 'true', 'workspace-manage-all', 'workspace-invoke', 'workspace-export-metrics']);
  assert.equal(orb.commands.login.parameters.validate.type, 'boolean');
});

test('a config that uses the orb parses: login, a deploy step, logout', (t) => {
  const lib = npm();
  if (!lib) return skipOrFail(t, 'no @circleci/circleci-config-parser: run scripts/setup-orb.sh');
  const orb = lib.yaml.parse(packed);
  const config = lib.yaml.parse(`
version: 2.1
orbs:
  truss-ci: baseten/truss-ci@0.1.0
jobs:
  push:
    docker:
      - image: cimg/python:3.12
    steps:
      - checkout
      - truss-ci/login:
          api-key-env: BASETEN_DEPLOY_KEY
          remote-url: https://app.baseten.co
          export-env: "true"
          validate: true
          job-key: workspace-invoke
          model-ids: abc123,def456
      - run:
          name: Deploy
          command: truss push
      - truss-ci/logout:
          api-key-env: BASETEN_DEPLOY_KEY
workflows:
  deploy:
    jobs:
      - push:
          context: baseten
`);
  const parsed = lib.parser.parseConfig(withParserSteps(config), { 'truss-ci': manifest(lib, orb) });
  assert.deepEqual(parsed.jobs.map((j) => j.name), ['push']);
  const steps = parsed.jobs[0].steps;
  assert.equal(steps.length, 4);
  assert.equal(steps[1].name, 'truss-ci/login');
  assert.equal(steps[3].name, 'truss-ci/logout');
  // The logout it calls is the packed orb's, which runs when: always.
  const logout = lib.parser.parseReusableCommands(orb.commands).find((c) => c.name === 'logout');
  assert.equal(logout.steps[0].parameters.when, 'always');
});

test("the orb's example parses as a config", (t) => {
  const lib = npm();
  if (!lib) return skipOrFail(t, 'no @circleci/circleci-config-parser: run scripts/setup-orb.sh');
  const orb = lib.yaml.parse(packed);
  const usage = orb.examples.deploy.usage;
  assert.ok(orb.examples.deploy.description);
  const parsed = lib.parser.parseConfig(withParserSteps(usage), { 'truss-ci': manifest(lib, orb) });
  assert.deepEqual(parsed.workflows.map((w) => w.name).sort(), ['deploy', 'deploy-with-job-key']);
  const own = usage.jobs['push-with-job-key'].steps;
  assert.equal(own.at(-1), 'truss-ci/logout');
});

test("the orb's example passes check-jsonschema's CircleCI schema", (t) => {
  const lib = npm();
  if (!lib) return skipOrFail(t, 'no yaml package: run scripts/setup-orb.sh');
  const cj = path.resolve(process.env.TRUSS_CI_CHECK_JSONSCHEMA || path.join(ROOT, 'target', 'interop', 'lint-venv', 'bin', 'check-jsonschema'));
  if (!fs.existsSync(cj)) return skipOrFail(t, `no check-jsonschema at ${cj}: run scripts/interop-setup.sh`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orb-schema-'));
  try {
    const file = path.join(dir, 'config.yml');
    fs.writeFileSync(file, lib.yaml.stringify(lib.yaml.parse(packed).examples.deploy.usage));
    const r = spawnSync(cj, ['--builtin-schema', 'vendor.circle-ci', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// --- the scripts, with a stub truss-ci ----------------------------------------------------------

/// A directory with a stub `truss-ci` that records its argv (one NUL-terminated argument each)
/// and environment, and exits with $STUB_EXIT; --version prints $STUB_VERSION.
function stubDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orb-stub-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.writeFileSync(path.join(dir, 'bin', 'truss-ci'), `#!/bin/sh
if [ "$1" = --version ]; then echo "truss-ci \${STUB_VERSION:-0.1.0}"; exit 0; fi
printf '%s\\0' "$@" > "${dir}/argv"
env > "${dir}/env"
exit "\${STUB_EXIT:-0}"
`, { mode: 0o755 });
  return dir;
}

const BASE_PATH = '/usr/local/bin:/usr/bin:/bin';

/// Runs `script` (a file under orb/scripts, or a command body with `body`) with `env` and the
/// stub first on PATH; returns the exit code, output, and what the stub recorded (null argv when
/// it did not run).
function runScript(script, env = {}, { body, stub = true } = {}) {
  const dir = stubDir();
  try {
    const childEnv = { PATH: stub ? `${dir}/bin:${BASE_PATH}` : BASE_PATH, HOME: dir, ...env };
    const args = body === undefined ? [path.join(ORB, 'scripts', script)] : ['-eo', 'pipefail', '-c', body];
    const r = spawnSync('bash', args, { env: childEnv, encoding: 'utf8' });
    const read = (f) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8') : null);
    const argv = read('argv');
    const envText = read('env');
    const childVars = envText === null ? null : Object.fromEntries(envText.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, argv: argv === null ? null : argv.split('\0').slice(0, -1), env: childVars };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function loginWith(params, extra = {}) {
  const env = { BASETEN_API_KEY: KEY, ...extra };
  for (const [k, v] of Object.entries(params)) env[`ORB_PARAM_${k.toUpperCase().replace(/-/g, '_')}`] = v;
  return runScript('login.sh', env);
}

/// The key is in truss-ci's environment only (in `name`): never in argv, never printed.
function assertKeyOnlyInEnv(r, key = KEY, name = 'BASETEN_API_KEY') {
  assert.equal(r.env[name], key);
  assert.ok(!r.argv.some((a) => a.includes(key)), `the key is in argv: ${r.argv}`);
  assert.ok(!r.stdout.includes(key) && !r.stderr.includes(key), 'the key was printed');
  assert.deepEqual(Object.keys(r.env).filter((k) => k.startsWith('ORB_PARAM_')), [], 'truss-ci gets no parameter variable');
}

test('login.sh: defaults are `truss-ci login --from-env`, the key in env only', () => {
  const r = loginWith({ 'api-key-env': 'BASETEN_API_KEY', validate: 'true', 'export-env': 'false', 'job-key': 'false' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.argv, ['login', '--from-env']);
  assertKeyOnlyInEnv(r);
  const bare = loginWith({});
  assert.deepEqual(bare.argv, ['login', '--from-env']);
});

test('login.sh: every parameter is its flag, as --flag=value', () => {
  const r = loginWith({
    remote: 'staging',
    'remote-url': 'https://app.staging.baseten.co',
    'api-url': 'https://api.staging.baseten.co',
    timeout: '45',
    'require-key-type': 'workspace-manage-all,workspace-invoke',
    'export-env': 'false',
    validate: 'false',
    'job-key': 'workspace-invoke',
    'job-key-ttl': '2h',
    'model-ids': 'abc123, def456\nghi789\t jkl0',
    team: 'ml team',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.argv, [
    'login',
    '--remote=staging',
    '--remote-url=https://app.staging.baseten.co',
    '--api-url=https://api.staging.baseten.co',
    '--timeout=45',
    '--require-key-type=workspace-manage-all,workspace-invoke',
    '--no-validate',
    '--job-key=workspace-invoke',
    '--model-id=abc123',
    '--model-id=def456',
    '--model-id=ghi789',
    '--model-id=jkl0',
    '--team=ml team',
    '--job-key-ttl=2h',
    '--from-env',
  ]);
  assertKeyOnlyInEnv(r);
});

test('login.sh: a value starting with - stays a value; globs and spaces stay as they are', () => {
  const r = loginWith({ remote: '--all', 'api-url': '-v', team: '--job-key', 'job-key': 'true', 'model-ids': '-x,*' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.argv, ['login', '--remote=--all', '--api-url=-v', '--job-key', '--model-id=-x', '--model-id=*', '--team=--job-key', '--from-env']);
});

test('login.sh: export-env and job-key map as the action maps them', () => {
  const cases = [
    [{ 'export-env': 'truss-env' }, ['--export-env=truss-env']],
    [{ 'export-env': 'TRUSS-ENV' }, ['--export-env=truss-env']],
    [{ 'export-env': 'yes' }, ['--export-env']],
    [{ 'export-env': 'off' }, []],
    [{ validate: 'No' }, ['--no-validate']],
    [{ validate: '1' }, []],
    [{ 'job-key': 'true', team: 't', 'job-key-ttl': '30m' }, ['--job-key', '--team=t', '--job-key-ttl=30m']],
    [{ 'job-key': 'ON' }, ['--job-key']],
    [{ 'job-key': 'Workspace-Export-Metrics', 'model-ids': 'm1' }, ['--job-key=workspace-export-metrics', '--model-id=m1']],
    [{ 'job-key': 'workspace-manage-all' }, ['--job-key=workspace-manage-all']],
    // Without a job key, its settings are not passed.
    [{ 'job-key': 'false', 'model-ids': 'm1', team: 't', 'job-key-ttl': '1h' }, []],
    [{ 'job-key': '0' }, []],
    [{ 'baseten-profile': 'true' }, ['--baseten-profile']],
    [{ 'baseten-profile': 'ci-1' }, ['--baseten-profile=ci-1']],
    [{ 'baseten-profile': '-x' }, ['--baseten-profile=-x']],
    [{ 'baseten-profile': 'off' }, []],
  ];
  for (const [params, flags] of cases) {
    const r = loginWith(params);
    assert.equal(r.status, 0, `${JSON.stringify(params)}: ${r.stderr}`);
    assert.deepEqual(r.argv, ['login', ...flags, '--from-env'], JSON.stringify(params));
  }
});

test('login.sh: a bad yes/no fails with 2, naming the parameter, before truss-ci runs', () => {
  for (const [name, value] of [['validate', 'ture'], ['validate', ''], ['export-env', 'maybe'], ['job-key', 'sometimes'], ['job-key', 'workspace-manage-api-keys'], ['validate', 'true ']]) {
    const r = loginWith({ [name]: value });
    if (name === 'validate' && value === '') {
      // An empty value is the default (true), as an unset one.
      assert.equal(r.status, 0, r.stderr);
      continue;
    }
    assert.equal(r.status, 2, `${name}=${JSON.stringify(value)}`);
    assert.equal(r.argv, null, 'truss-ci ran');
    assert.match(r.stderr, new RegExp(`the ${name} parameter must be true or false`));
    assert.ok(!r.stderr.includes(KEY));
  }
});

test('login.sh: api-key-env names the variable the key is read from', () => {
  // truss-ci reads it there by name: it knows which variable export-env would replace.
  const other = loginWith({ 'api-key-env': 'BASETEN_DEPLOY_KEY' }, { BASETEN_API_KEY: '', BASETEN_DEPLOY_KEY: 'deploy01.OtherKeyValue' });
  assert.equal(other.status, 0, other.stderr);
  assert.deepEqual(other.argv, ['login', '--from-env=BASETEN_DEPLOY_KEY']);
  assertKeyOnlyInEnv(other, 'deploy01.OtherKeyValue', 'BASETEN_DEPLOY_KEY');
  assert.equal(other.env.BASETEN_API_KEY, '', 'BASETEN_API_KEY is left as the job has it');

  // Unset: truss-ci is pointed at it by name (it reads VAR_FILE too, and names VAR in its error).
  const unset = loginWith({ 'api-key-env': 'BASETEN_DEPLOY_KEY' }, { BASETEN_API_KEY: '' });
  assert.equal(unset.status, 0);
  assert.deepEqual(unset.argv, ['login', '--from-env=BASETEN_DEPLOY_KEY']);
  assert.match(unset.stderr, /BASETEN_DEPLOY_KEY is not set in this job/);
  const file = loginWith({ 'api-key-env': 'BASETEN_DEPLOY_KEY' }, { BASETEN_API_KEY: '', BASETEN_DEPLOY_KEY_FILE: '/run/secrets/key' });
  assert.deepEqual(file.argv, ['login', '--from-env=BASETEN_DEPLOY_KEY']);
  assert.doesNotMatch(file.stderr, /is not set/);

  for (const bad of ['1KEY', 'A;B', '$(id)', 'A B', '-x']) {
    const r = loginWith({ 'api-key-env': bad });
    assert.equal(r.status, 2, bad);
    assert.equal(r.argv, null);
    assert.match(r.stderr, /api-key-env parameter must be an environment variable name/);
  }
});

test("login.sh: truss-ci's exit code is the step's", () => {
  for (const code of [2, 3, 4, 5]) {
    assert.equal(loginWith({}, { STUB_EXIT: String(code) }).status, code);
  }
});

test('the packed login command, run as CircleCI runs it, is login.sh', (t) => {
  const lib = npm();
  if (!lib) return skipOrFail(t, 'no yaml package: run scripts/setup-orb.sh');
  const body = lib.yaml.parse(packed).commands.login.steps.at(-1).run.command;
  const r = runScript(null, { BASETEN_API_KEY: KEY, ORB_PARAM_REMOTE: '-r', ORB_PARAM_VALIDATE: 'false' }, { body });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.argv, ['login', '--remote=-r', '--no-validate', '--from-env']);
  assertKeyOnlyInEnv(r);
});

test('logout.sh: `truss-ci logout --post`, its exit code the step’s', () => {
  const r = runScript('logout.sh', { BASETEN_API_KEY: KEY });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.argv, ['logout', '--post', '--from-env']);
  assertKeyOnlyInEnv(r);
  for (const code of [1, 2, 3, 4, 5]) {
    assert.equal(runScript('logout.sh', { STUB_EXIT: String(code) }).status, code);
  }
  const flags = runScript('logout.sh', {
    ORB_PARAM_API_KEY_ENV: 'MINT_KEY', MINT_KEY: 'mint01.KeyThatMints', ORB_PARAM_API_URL: '-u', ORB_PARAM_TIMEOUT: '60',
  });
  assert.deepEqual(flags.argv, ['logout', '--post', '--api-url=-u', '--timeout=60', '--from-env=MINT_KEY']);
  assertKeyOnlyInEnv(flags, 'mint01.KeyThatMints', 'MINT_KEY');
  const unset = runScript('logout.sh', { ORB_PARAM_API_KEY_ENV: 'MINT_KEY' });
  assert.deepEqual(unset.argv, ['logout', '--post', '--from-env=MINT_KEY']);
  const bad = runScript('logout.sh', { ORB_PARAM_API_KEY_ENV: 'X Y' });
  assert.equal(bad.status, 2);
  assert.equal(bad.argv, null);
});

test('logout.sh: with no truss-ci on PATH nothing was logged in, and it says so', (t) => {
  const found = spawnSync('bash', ['-c', 'command -v truss-ci'], { env: { PATH: BASE_PATH } });
  if (found.status === 0) return t.skip(`a truss-ci is installed in ${BASE_PATH}`);
  const r = runScript('logout.sh', {}, { stub: false });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /truss-ci is not on PATH/);
});

test('install.sh: that version on PATH already is kept; a bad version fails with 2', () => {
  const kept = runScript('install.sh', { ORB_PARAM_VERSION: '0.1.0', STUB_VERSION: '0.1.0' });
  assert.equal(kept.status, 0, kept.stderr);
  assert.match(kept.stderr, /truss-ci 0\.1\.0 is already installed/);
  const v = runScript('install.sh', { ORB_PARAM_VERSION: 'v0.1.0', STUB_VERSION: '0.1.0' });
  assert.equal(v.status, 0, v.stderr);
  const none = runScript('install.sh', { ORB_PARAM_VERSION: '' });
  assert.equal(none.status, 0, none.stderr);
  assert.match(none.stderr, /using .*truss-ci/);
  for (const bad of ['0.1', '0.1.0 --index-url=https://example.com', '--pre', 'latest']) {
    const r = runScript('install.sh', { ORB_PARAM_VERSION: bad });
    assert.equal(r.status, 2, bad);
    assert.match(r.stderr, /the version parameter must be a truss-ci release/);
  }
  const method = runScript('install.sh', { ORB_PARAM_VERSION: '9.9.9', ORB_PARAM_METHOD: 'curl' });
  assert.equal(method.status, 2);
  assert.match(method.stderr, /the method parameter must be pip or binary/);
});

test('login.sh: a restricted job key with export-env is truss-ci\'s to judge: the flags reach it as given', () => {
  for (const kind of ['workspace-invoke', 'Workspace-Export-Metrics']) {
    for (const [exp, flag] of [['true', '--export-env'], ['truss-env', '--export-env=truss-env']]) {
      const r = loginWith({ 'job-key': kind, 'export-env': exp, 'model-ids': 'm1' });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.argv, ['login', flag, `--job-key=${kind.toLowerCase()}`, '--model-id=m1', '--from-env']);
    }
  }
  // Its exit code is the step's (the real refusal, end to end, below).
  assert.equal(loginWith({ 'job-key': 'workspace-invoke', 'export-env': 'true' }, { STUB_EXIT: '2' }).status, 2);
});

test('login.sh and logout.sh: a trace of the shell (set -x) never shows the key', () => {
  for (const script of ['login.sh', 'logout.sh']) {
    const text = fs.readFileSync(path.join(ORB, 'scripts', script), 'utf8');
    const r = runScript(script, { DEPLOY_KEY: KEY, ORB_PARAM_API_KEY_ENV: 'DEPLOY_KEY' }, { body: `set -x\n${text}` });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes(KEY) && !r.stderr.includes(KEY), `${script} traced the key`);
  }
});

// --- install with method binary: the release manifest's digests, packed in -------------------

const crypto = require('node:crypto');
const { digestLines, TARGETS } = require('../scripts/pack-orb.js');

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

/// A release manifest (action/manifest.json's shape) recording `digest` for every target of
/// truss-ci `version`, and a Windows binary the orb never installs.
function manifestFor(version, digest) {
  const binaries = Object.fromEntries(TARGETS.map((t) => [t, digest]));
  return {
    version,
    repository: 'baseten/auth-action',
    sha256: { [version]: {} },
    binary_sha256: { [version]: { ...binaries, 'x86_64-pc-windows-msvc': 'e'.repeat(64) } },
  };
}

test('pack --manifest: install.sh gets the digests of the targets it installs, and nothing else changes', () => {
  const digest = 'd'.repeat(64);
  const stamped = pack(ORB, '9.9.9', manifestFor('9.9.9', digest));
  assert.equal(stamped.split('\n').filter((l) => l.includes(digest)).length, 4);
  assert.ok(!stamped.includes('e'.repeat(64)), 'no digest of a target the orb does not install');
  const lines = (text) => text.split('\n');
  const extra = lines(stamped).filter((l) => !lines(pack(ORB, '9.9.9')).includes(l));
  assert.deepEqual(extra.map((l) => l.trim()), [`release_sha256='`, ...TARGETS.map((t) => `9.9.9 ${t} ${digest}`), `'`]);
  assert.throws(() => pack(ORB, '9.9.8', manifestFor('9.9.9', digest)), /records no binary of truss-ci 9\.9\.8/);
  assert.throws(() => digestLines({ binary_sha256: { '9.9.9': { [TARGETS[0]]: 'not hex' } } }), /is not a SHA-256/);
  assert.throws(() => digestLines({}), /no binary_sha256/);
  // The command line takes the manifest from a file.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orb-manifest-'));
  try {
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifestFor('9.9.9', digest)));
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'pack-orb.js'), `--manifest=${path.join(dir, 'manifest.json')}`, '9.9.9'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, stamped);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/// Runs the packed install command (packed with `manifest`, or none) with method binary, a stub
/// curl that serves `served` (recording each URL) and `onPath` as a truss-ci on PATH, if any.
function installBinary(t, { manifest, version = '9.9.9', served, onPath }) {
  const lib = npm();
  if (!lib) return skipOrFail(t, 'no yaml package: run scripts/setup-orb.sh');
  const body = lib.yaml.parse(pack(ORB, undefined, manifest)).commands.install.steps.at(-1).run.command;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orb-install-'));
  try {
    for (const d of ['curl-bin', 'path-bin', 'install']) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, 'served'), served);
    fs.writeFileSync(path.join(dir, 'curl-bin', 'curl'), `#!/bin/sh
out=; prev=; url=
for a; do [ "$prev" = -o ] && out=$a; prev=$a; url=$a; done
echo "$url" >> "${dir}/curl.log"
cp "${dir}/served" "$out"
`, { mode: 0o755 });
    if (onPath !== undefined) fs.writeFileSync(path.join(dir, 'path-bin', 'truss-ci'), onPath, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'bash_env'), '');
    const r = spawnSync('bash', ['-eo', 'pipefail', '-c', body], {
      encoding: 'utf8',
      env: {
        PATH: `${dir}/curl-bin:${dir}/path-bin:${BASE_PATH}`,
        HOME: dir,
        BASH_ENV: path.join(dir, 'bash_env'),
        RAN: path.join(dir, 'ran'),
        ORB_PARAM_VERSION: version,
        ORB_PARAM_METHOD: 'binary',
        ORB_PARAM_INSTALL_DIR: path.join(dir, 'install'),
      },
    });
    const read = (f) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8') : null);
    return { status: r.status, stderr: r.stderr, urls: (read('curl.log') || '').split('\n').filter(Boolean), installed: read('install/truss-ci'), ran: read('ran'), bashEnv: read('bash_env'), dir };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/// A stand-in release binary: says its version, and that it ran.
const RELEASE = '#!/bin/sh\necho ran >> "$RAN"\necho "truss-ci 9.9.9"\n';

test('install.sh, method binary: the download is installed only when its SHA-256 is the release manifest\'s', (t) => {
  const manifest = manifestFor('9.9.9', sha256(RELEASE));
  const good = installBinary(t, { manifest, served: RELEASE });
  if (!good) return;
  assert.equal(good.status, 0, good.stderr);
  assert.equal(good.urls.length, 1);
  assert.match(good.urls[0], /^https:\/\/github\.com\/baseten\/auth-action\/releases\/download\/v9\.9\.9\/truss-ci-[a-z0-9_]+-(unknown-linux-musl|apple-darwin)$/);
  assert.equal(good.installed, RELEASE);
  assert.match(good.stderr, /truss-ci 9\.9\.9/);
  assert.match(good.bashEnv, /^export PATH=.*install:"\$PATH"$/m);

  // Other bytes: refused before they are installed or run.
  const tampered = installBinary(t, { manifest, served: RELEASE.replace('9.9.9', '6.6.6') });
  assert.equal(tampered.status, 1, tampered.stderr);
  assert.match(tampered.stderr, /refusing truss-ci-\S+ 9\.9\.9: its SHA-256 is [0-9a-f]{64}, the release manifest's is [0-9a-f]{64}; nothing was installed/);
  assert.equal(tampered.installed, null);
  assert.equal(tampered.ran, null, 'the download never ran');
});

test('install.sh, method binary: a version the manifest does not record, or no manifest, is refused before any download', (t) => {
  const manifest = manifestFor('9.9.9', sha256(RELEASE));
  const other = installBinary(t, { manifest, version: '9.9.8', served: RELEASE });
  if (!other) return;
  assert.equal(other.status, 2, other.stderr);
  assert.match(other.stderr, /records no SHA-256 for truss-ci 9\.9\.8/);
  assert.deepEqual(other.urls, []);
  const none = installBinary(t, { manifest: undefined, served: RELEASE });
  assert.equal(none.status, 2, none.stderr);
  assert.match(none.stderr, /records no SHA-256 for truss-ci 9\.9\.9/);
  assert.deepEqual(none.urls, []);
});

test('install.sh, method binary: the very release binary on PATH is kept, unrun; any other is replaced', (t) => {
  const manifest = manifestFor('9.9.9', sha256(RELEASE));
  const same = installBinary(t, { manifest, served: 'never served', onPath: RELEASE });
  if (!same) return;
  assert.equal(same.status, 0, same.stderr);
  assert.match(same.stderr, /truss-ci 9\.9\.9 is already installed/);
  assert.deepEqual(same.urls, []);
  assert.equal(same.ran, null, 'nothing was run to find out');
  // Another truss-ci that says it is 9.9.9 is not the release's binary.
  const claims = installBinary(t, { manifest, served: RELEASE, onPath: '#!/bin/sh\necho "truss-ci 9.9.9"\n' });
  assert.equal(claims.status, 0, claims.stderr);
  assert.equal(claims.urls.length, 1);
  assert.equal(claims.installed, RELEASE);
});

// --- end to end: the real truss-ci ($TRUSS_CI_BIN) against the fake Baseten API ---------------

const BIN = process.env.TRUSS_CI_BIN || '';

/// The suite's fake Baseten API (`cargo build --example fake-baseten`), serving `key` until its
/// stdin closes: { url, stop }.
async function fakeBaseten(key) {
  const fake = process.env.TRUSS_CI_FAKE_BASETEN || path.join(path.dirname(BIN), 'examples', 'fake-baseten');
  assert.ok(fs.existsSync(fake), `no fake Baseten API at ${fake}: run cargo build --example fake-baseten, or set TRUSS_CI_FAKE_BASETEN`);
  const child = require('node:child_process').spawn(fake, [key], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      if (buf.includes('\n')) resolve(buf.split('\n')[0].trim());
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`fake-baseten exited with ${code}`)));
  });
  const stop = () =>
    new Promise((resolve) => {
      child.removeAllListeners('exit');
      child.on('exit', resolve);
      child.stdin.end();
    });
  return { url, stop };
}

test('end to end: a restricted job key exported over the key logout revokes it with is refused by truss-ci; from api-key-env it is minted and revoked', async (t) => {
  if (!BIN) {
    const why = 'TRUSS_CI_BIN is unset: no end-to-end test of the orb with the real truss-ci (scripts/test-orb.sh builds one)';
    if (REQUIRE) assert.fail(`${why} (TRUSS_CI_REQUIRE_INTEROP=1)`);
    process.stderr.write(`SKIPPED: ${why}\n`);
    return t.skip(why);
  }
  const api = await fakeBaseten(KEY);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orb-e2e-'));
  try {
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.mkdirSync(path.join(dir, 'home'));
    fs.symlinkSync(path.resolve(BIN), path.join(dir, 'bin', 'truss-ci'));
    const bashEnv = path.join(dir, 'bash_env');
    fs.writeFileSync(bashEnv, '');
    const trussrc = path.join(dir, 'home', '.trussrc');
    // As CircleCI runs a step: bash, which sources $BASH_ENV first.
    const step = (script, env) =>
      spawnSync('bash', ['-eo', 'pipefail', path.join(ORB, 'scripts', script)], {
        encoding: 'utf8',
        env: {
          PATH: `${dir}/bin:${BASE_PATH}`,
          HOME: path.join(dir, 'home'),
          CIRCLECI: 'true',
          CIRCLE_WORKFLOW_JOB_ID: 'wf-job-1',
          BASH_ENV: bashEnv,
          ORB_PARAM_API_URL: api.url,
          ...env,
        },
      });
    const restricted = { ORB_PARAM_JOB_KEY: 'workspace-invoke', ORB_PARAM_MODEL_IDS: 'm1', ORB_PARAM_EXPORT_ENV: 'true' };

    const refused = step('login.sh', { ...restricted, BASETEN_API_KEY: KEY });
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /--job-key=workspace-invoke with --export-env would hand the job key to the `when: always` step as BASETEN_API_KEY/);
    assert.match(refused.stderr, /--from-env=NAME/);
    assert.ok(!fs.existsSync(trussrc), 'nothing was written');
    assert.equal(fs.readFileSync(bashEnv, 'utf8'), '', 'nothing was exported');
    assert.ok(!refused.stdout.includes(KEY) && !refused.stderr.includes(KEY));

    const login = step('login.sh', { ...restricted, ORB_PARAM_API_KEY_ENV: 'MINT_KEY', MINT_KEY: KEY });
    assert.equal(login.status, 0, login.stderr);
    const stored = fs.readFileSync(trussrc, 'utf8').match(/^api_key = (.+)$/m)[1];
    assert.notEqual(stored, KEY, 'the trussrc holds the job key');
    assert.match(fs.readFileSync(bashEnv, 'utf8'), /^export BASETEN_API_KEY=/m);

    // The logout step sees the job key in BASETEN_API_KEY ($BASH_ENV) and revokes it with MINT_KEY.
    const logout = step('logout.sh', { ORB_PARAM_API_KEY_ENV: 'MINT_KEY', MINT_KEY: KEY });
    assert.equal(logout.status, 0, logout.stderr);
    assert.match(logout.stderr, new RegExp(`^Revoked job key truss-ci-circleci-\\S+ \\(prefix ${stored.split('.')[0]}\\)$`, 'm'));
    assert.ok(!fs.existsSync(trussrc));
    for (const r of [login, logout]) assert.ok(!r.stdout.includes(KEY) && !r.stderr.includes(KEY) && !r.stderr.includes(stored));
  } finally {
    await api.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
