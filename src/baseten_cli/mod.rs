//! The `baseten` CLI's credential store: `auth.json` (profiles) in its config directory and its
//! keyring entries (service `baseten-profile`, account = the profile name).
pub mod auth_file;
