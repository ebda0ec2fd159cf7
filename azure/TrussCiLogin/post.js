// The TrussCiLogin task's post-job step: `truss-ci logout --post`, which undoes exactly what this
// job's login did (and revokes a job key). The agent runs a task's post-job step whatever the
// main step's condition or result, so this checks the cleanup input and whether main got as far
// as a binary; with nothing to undo it succeeds.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const lib = require('./lib.js');

function post() {
  const { tl, key, maskError } = lib.loadTaskLib();
  let cleanup = true;
  try {
    cleanup = lib.yesNo(tl, 'cleanup', true);
  } catch (e) {
    // main refused it before the login, so there is nothing of its to undo; were there, an
    // unreadable value undoes it rather than leaving it.
    tl.warning(`${e.message}; cleaning up`);
  }
  if (!cleanup) {
    tl.setResult(tl.TaskResult.Succeeded, 'cleanup is false: the login is left in place');
    return;
  }
  const binary = tl.getTaskVariable(lib.STATE_BINARY);
  const sha256 = tl.getTaskVariable(lib.STATE_SHA256);
  if (!binary) {
    tl.setResult(tl.TaskResult.Succeeded, 'the main step ran no truss-ci: nothing to undo');
    return;
  }
  const runDir = tl.getTaskVariable(lib.STATE_RUNDIR);
  try {
    try {
      lib.verifyFile(binary, sha256, 'it is not the binary the main step ran, so nothing was undone');
    } catch (e) {
      tl.setResult(tl.TaskResult.Failed, e.message);
      return;
    }
    const { args, withKey } = lib.logoutArgs(tl);
    if (withKey && (maskError || lib.keyProblem(key))) {
      tl.setResult(tl.TaskResult.Failed, `cannot revoke the job key: ${maskError || lib.keyProblem(key)}`);
      return;
    }
    const code = lib.run(binary, args, lib.childEnv(process.env, withKey ? key : ''));
    if (code === 0) tl.setResult(tl.TaskResult.Succeeded, 'the login is undone');
    else tl.setResult(tl.TaskResult.Failed, lib.exitMessage('logout --post', code));
  } finally {
    // The directory main downloaded into has served both steps.
    if (runDir && path.dirname(binary) === runDir && /^truss-ci-[A-Za-z0-9]{6}$/.test(path.basename(runDir))) {
      fs.rmSync(runDir, { recursive: true, force: true });
    }
  }
}

try {
  post();
} catch (e) {
  process.stderr.write(`truss-ci task: ${e && e.message}\n`);
  process.stdout.write('##vso[task.complete result=Failed;]unexpected error in the task: see the log\n');
}
