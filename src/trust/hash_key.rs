//! `micromodel hash-key`: the `sha256:<hex>` form of a client key, for `CLIENT_KEYS` in a
//! config that may live in git.
//!
//! The key is read from stdin (not a flag, so it stays out of shell history and `ps`); one
//! trailing newline (`\n` or `\r\n`) is dropped, as `echo key | micromodel hash-key` adds it.

use std::io::Read;

use anyhow::{bail, Context};
use clap::Args;

use crate::config::client_keys::hashed_form;

/// Flags of `hash-key` (none: the key comes on stdin).
#[derive(Debug, Clone, Args)]
pub struct HashKeyArgs {}

/// Reads the key from stdin and prints `sha256:<hex>`. Exit code 0.
pub fn hash_key(_args: &HashKeyArgs) -> anyhow::Result<i32> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("could not read the key from stdin")?;
    let key = strip_newline(&input);
    if key.is_empty() {
        bail!("no key on stdin (try: printf %s \"$KEY\" | micromodel hash-key)");
    }
    if key.iter().any(|b| b.is_ascii_control()) || key.trim_ascii() != key {
        bail!("the key has control characters or whitespace around it, which cannot arrive in an HTTP header");
    }
    println!("{}", hashed_form(key));
    Ok(0)
}

/// `input` without one trailing `\n` or `\r\n`.
fn strip_newline(input: &[u8]) -> &[u8] {
    let input = input.strip_suffix(b"\n").unwrap_or(input);
    input.strip_suffix(b"\r").unwrap_or(input)
}
