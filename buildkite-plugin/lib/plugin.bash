# shellcheck shell=bash
# What both hooks share: the plugin's configuration, the one yes/no parser, and finding truss-ci.
# All the logic stays in truss-ci; this maps configuration to its flags. The agent sources hooks
# into a wrapper shell, so every name here starts with truss_ci_plugin_ (nothing is exported).

# The truss-ci release this plugin is released with: what the install hint names.
truss_ci_plugin_release=0.1.0

truss_ci_plugin_fail() { # fail CODE MESSAGE: the message on stderr, then exit CODE
  printf 'truss-ci plugin: %s\n' "$2" >&2
  exit "$1"
}

# lower TEXT: TEXT in lower case, in REPLY (bash 3.2, macOS's, has no ${x,,}).
truss_ci_plugin_lower() {
  REPLY=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')
}

truss_ci_plugin_warn() {
  printf 'truss-ci plugin: warning: %s\n' "$1" >&2
}

# refuse MESSAGE: a bad option: exit 2; with truss_ci_plugin_lenient=1, a warning and REPLY=!invalid.
truss_ci_plugin_refuse() {
  [ "${truss_ci_plugin_lenient:-}" = 1 ] || truss_ci_plugin_fail 2 "$1"
  truss_ci_plugin_warn "$1"
  REPLY='!invalid'
}

# The agent names a plugin's configuration variables after the plugin's name, which it takes from
# the last segment of the plugin's location (less -buildkite-plugin), and says which in
# BUILDKITE_PLUGIN_NAME: TRUSS_CI for a repository named truss-ci-buildkite-plugin, BUILDKITE_PLUGIN
# for the buildkite-plugin directory of this repository.
truss_ci_plugin_prefix() {
  local name=${BUILDKITE_PLUGIN_NAME:-}
  [[ $name =~ ^[A-Z0-9_]+$ ]] || name=TRUSS_CI
  REPLY=BUILDKITE_PLUGIN_${name}_
}

# config OPTION: the option's value (trimmed; empty when unset) in REPLY. OPTION is one of the
# plugin.yml names (api-key-env, job-key-ttl, ...), upper-cased with - as _ as the agent does.
truss_ci_plugin_config() {
  local option
  option=$(printf '%s' "$1" | tr '[:lower:]-' '[:upper:]_')
  truss_ci_plugin_prefix
  local var=$REPLY$option value
  value=${!var:-}
  value=${value#"${value%%[![:space:]]*}"}
  value=${value%"${value##*[![:space:]]}"}
  REPLY=$value
}

# The one yes/no parser, for every boolean option: true/false/yes/no/on/off/1/0 in any case; unset
# or blank is DEFAULT. yes_no OPTION DEFAULT [WORD...]: REPLY is true, false, or one of the WORDs
# the option also takes (in lower case). Anything else fails with exit 2, naming the option and
# what it takes, never a silent no; or, with truss_ci_plugin_lenient=1 (pre-exit, which must clean
# up whatever the configuration says), a warning and REPLY=!invalid.
truss_ci_plugin_yes_no() {
  local option=$1 default=$2 value word
  shift 2
  truss_ci_plugin_config "$option"
  value=$REPLY
  truss_ci_plugin_lower "$value"
  case $REPLY in
    '') REPLY=$default ;;
    true | yes | on | 1) REPLY=true ;;
    false | no | off | 0) REPLY=false ;;
    *)
      for word in "$@"; do
        [ "$REPLY" != "$word" ] || return 0
      done
      local also=''
      [ $# -eq 0 ] || also=$(printf ', %s' "$@")
      truss_ci_plugin_refuse "the $option option must be true or false (or yes/no, on/off, 1/0${also}), not '$value'"
      ;;
  esac
}

# api-key-env: the name of the env var that holds the key (default BASETEN_API_KEY), in REPLY. Its
# value is never printed: it could be the key itself, pasted there by mistake. A bad one is
# refused (truss_ci_plugin_refuse).
truss_ci_plugin_key_var() {
  truss_ci_plugin_config api-key-env
  [ -n "$REPLY" ] || REPLY=BASETEN_API_KEY
  [[ $REPLY =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] ||
    truss_ci_plugin_refuse "the api-key-env option must be the name of an env var (letters, digits and _), not the key itself; its value is not shown"
}

# truss-ci on PATH, in REPLY; without it, exit 1 saying how to install it. With the version option
# set, a truss-ci of another version is refused (truss_ci_plugin_refuse).
truss_ci_plugin_binary() {
  truss_ci_plugin_config version
  local version=${REPLY#v} found
  if ! found=$(command -v truss-ci); then
    truss_ci_plugin_fail 1 "truss-ci is not on PATH. Install it on the agent before this hook runs (in its image, or in an agent environment hook), beside truss: \`pip install truss-ci==${version:-$truss_ci_plugin_release}\` from PyPI, or the release binary truss-ci-<target> checked against its .sha256 (see the Install section of https://github.com/baseten/auth-action#install)"
  fi
  if [ -n "$version" ]; then
    local got
    got=$("$found" --version 2>/dev/null) || got=''
    [ "$got" = "truss-ci $version" ] ||
      truss_ci_plugin_refuse "the version option asks for truss-ci $version, but $found says '${got:-nothing}': install truss-ci==$version"
  fi
  REPLY=$found
}

# model-ids, a list (model-ids: [a, b]: the agent sets _0, _1, ...) or one string of ids separated
# by commas or white space, as --model-id=ID flags in the array truss_ci_plugin_ids.
truss_ci_plugin_model_ids() {
  truss_ci_plugin_ids=()
  local i=0 words id
  while truss_ci_plugin_config "model-ids-$i" && [ -n "$REPLY" ]; do
    truss_ci_plugin_ids+=("--model-id=$REPLY")
    i=$((i + 1))
  done
  truss_ci_plugin_config model-ids
  read -r -a words <<<"$(printf '%s' "$REPLY" | tr ',\t\r\n' '    ')"
  for id in ${words[@]+"${words[@]}"}; do
    truss_ci_plugin_ids+=("--model-id=$id")
  done
}

# The api-url and timeout options as flags, in the array truss_ci_plugin_api_args: what login and
# the post's revocation both need.
truss_ci_plugin_api_flags() {
  truss_ci_plugin_api_args=()
  local option
  for option in api-url timeout; do
    truss_ci_plugin_config "$option"
    [ -z "$REPLY" ] || truss_ci_plugin_api_args+=("--$option=$REPLY")
  done
}

# from_env KEYVAR: the flag with which truss-ci reads the key from the env var KEYVAR (and the file
# KEYVAR_FILE names), in REPLY: `--from-env`, or `--from-env=KEYVAR`. truss-ci is told the variable
# by name, so that it can tell whether export-env would replace it in pre-exit's environment.
truss_ci_plugin_from_env() {
  if [ "$1" = BASETEN_API_KEY ]; then REPLY=--from-env; else REPLY=--from-env=$1; fi
}
