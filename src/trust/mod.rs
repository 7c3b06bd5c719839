//! Trust (issue 14): who may use a workflow's port, and what of its traffic is recorded.
//!
//! - [`client_keys`]: the `CLIENT_KEYS` check of a request (`Authorization: Bearer`, or
//!   `x-api-key` on `/v1/messages`), constant time over SHA-256 digests; the credentials are
//!   consumed (never forwarded, never logged).
//! - [`hash_key`]: `micromodel hash-key`, the `sha256:<hex>` form of a key for the config.
//! - [`gate`]: whether a request is recorded: the `X-MicroModel-Record` opt-out, `RECORD`
//!   (all, none, a sampled fraction) and `RESPECT_STORE`; skips counted by reason.
//!
//! The proxy applies the key check as a layer on each listener's router (`proxy::guard`).

pub mod client_keys;
pub(crate) mod gate;
pub mod hash_key;

pub use client_keys::{access, Client};
pub use hash_key::{hash_key, HashKeyArgs};
