//! The Azure Pipelines agent's unescaping of logging-command values
//! (`CommandStringConvertor.Unescape`, with `%AZP25` decoding on): the oracle for truss-ci's
//! escaping. Shared by the unit tests and the fuzz target.
#![allow(dead_code)]

pub fn unescape(s: &str) -> String {
    s.replace("%3B", ";")
        .replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%5D", "]")
        .replace("%AZP25", "%")
}
