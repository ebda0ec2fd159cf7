//! One module per subcommand, composed from the library's parts.
pub mod exec;
pub mod keys;
pub mod login;
pub mod logout;
pub mod status;
pub mod verify;
