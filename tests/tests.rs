//! The integration suite, one test binary (as ripgrep's): each area is a module with a temp dir per
//! test, and the shared harness in `common` is compiled once.

mod common;

mod ahead;
mod arm64;
mod baseten_cli;
mod ci;
mod configparser;
mod crash;
mod exec;
mod expanduser;
mod hardening;
mod interleave;
mod interop_act;
mod interop_baseten_cli;
mod interop_baseten_codec;
mod interop_gitlab;
mod interop_gitlab_component;
mod interop_image;
mod interop_keyring;
mod interop_truss;
mod interop_wheel;
mod job_key_export;
mod job_key_safety;
mod job_keys;
mod keys_api;
mod least_privilege;
mod login;
mod packaging;
mod security;
mod shared_runner;
mod status_logout;
mod try_script;
mod windows;
