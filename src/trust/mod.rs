//! Guarding the data path (issue 14): what reaches the upstream and what is recorded.
//!
//! - [`gate`]: whether a request is recorded: the `X-MicroModel-Record` opt-out, `RECORD`
//!   (all, none, a sampled fraction) and `RESPECT_STORE`; skips counted by reason.

pub(crate) mod gate;
