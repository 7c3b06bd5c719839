//! See docs/fuzzing.md and `micromodel::fuzzing::fuzz_config` for the input layout and the property.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| micromodel::fuzzing::fuzz_config(data));
