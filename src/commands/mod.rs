//! One module per subcommand, composed from the library's parts.
pub mod login;
pub mod logout;
pub mod status;
