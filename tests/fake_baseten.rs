//! The test suite's fake Baseten API (tests/common) as a program, for `scripts/try.sh`: one fake,
//! the same endpoints and answers the tests meet. `fake-baseten KEY...` serves on 127.0.0.1 a
//! workspace where each KEY is a `WORKSPACE_MANAGE_ALL` key (it may check itself, look itself up,
//! mint and delete job keys), prints its URL on stdout, and serves until its stdin closes: the
//! script that started it holds the other end, so the fake ends with it however it ends.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

#[path = "common/mod.rs"]
mod common;

use std::io::{Read, Write};

use common::management::{Baseten, MANAGE_ALL};

fn main() {
    let keys: Vec<String> = std::env::args().skip(1).collect();
    assert!(!keys.is_empty(), "usage: fake-baseten KEY...");
    let baseten = Baseten::new();
    for key in &keys {
        baseten.add_exact(key, MANAGE_ALL, Some("ci-deploy"));
    }
    let api = baseten.start();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", api.url).unwrap();
    out.flush().unwrap();
    drop(out);
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}
