// The TrussCiLogin task's main step: `truss-ci login` with the inputs as its flags and the key in
// its environment only (BASETEN_API_KEY, --from-env); the task's result is the binary's.
'use strict';

const lib = require('./lib.js');

async function main() {
  // First: the key masked before any other output.
  const { tl, key, maskError } = lib.loadTaskLib();
  let args;
  try {
    args = lib.loginArgs(tl);
    const problem = maskError || lib.keyProblem(key);
    if (problem) throw new Error(problem);
  } catch (e) {
    tl.setResult(tl.TaskResult.Failed, e.message);
    return;
  }
  let found;
  try {
    found = await lib.findBinary(tl);
    lib.verifyFile(found.binary, found.sha256, 'it changed after it was found: nothing was run');
  } catch (e) {
    // A download that failed its check is not kept.
    if (found && found.runDir) require('node:fs').rmSync(found.runDir, { recursive: true, force: true });
    tl.setResult(tl.TaskResult.Failed, e.message);
    return;
  }
  // For the post-job step, which always runs: the binary to undo the login with, and its digest.
  tl.setTaskVariable(lib.STATE_BINARY, found.binary);
  tl.setTaskVariable(lib.STATE_SHA256, found.sha256);
  if (found.runDir) tl.setTaskVariable(lib.STATE_RUNDIR, found.runDir);
  const code = lib.run(found.binary, args, lib.childEnv(process.env, key));
  if (code === 0) tl.setResult(tl.TaskResult.Succeeded, 'logged in to Baseten');
  else tl.setResult(tl.TaskResult.Failed, lib.exitMessage('login', code));
}

main().catch((e) => {
  // Whatever failed, never a stack with a value in it: the message only, and a failed task.
  process.stderr.write(`truss-ci task: ${e && e.message}\n`);
  process.stdout.write('##vso[task.complete result=Failed;]unexpected error in the task: see the log\n');
});
