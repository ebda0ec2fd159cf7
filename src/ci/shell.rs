//! POSIX shell quoting, for `--print-env sh` and CircleCI's `$BASH_ENV`.
use super::{Var, check_env_name};
use crate::error::Result;
use crate::secret::Sensitive;

/// `'value'`, with each `'` written `'\''`: safe for any value, newlines included.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `export NAME='value'` lines.
pub fn export_lines(vars: &[Var<'_>]) -> Result<Sensitive> {
    let mut text = String::new();
    for var in vars {
        check_env_name(var.name)?;
        text.push_str(&format!(
            "export {}={}\n",
            var.name,
            quote(var.value.expose())
        ));
    }
    Ok(Sensitive::new(text))
}

#[cfg(all(test, unix))] // a real shell
mod tests {
    use super::*;

    #[test]
    fn quotes_survive_a_real_shell() {
        for value in [
            "plain",
            "it's",
            "a b",
            "$HOME `x` \"q\"",
            "line\nbreak",
            "'",
            "",
        ] {
            let script = format!("printf %s {}", quote(value));
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&script)
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), value);
        }
    }
}
