//! Plain terminals, Jenkins (no log protocol: the README shows `withCredentials`), and `--ci none`.
use super::{Dialect, Platform};

pub struct Plain {
    pub platform: Platform,
}

impl Dialect for Plain {
    fn platform(&self) -> Platform {
        self.platform
    }
}
