//! Making MicroModel safe to put on a shared network (issue 14): what is kept out of the
//! stored records.
//!
//! - [`redact`]: `REDACT`, masking e-mail addresses, phone numbers, card numbers, secrets, IP
//!   addresses and custom patterns in the recorded copy of a request (never in what is
//!   forwarded or answered).

pub mod redact;
