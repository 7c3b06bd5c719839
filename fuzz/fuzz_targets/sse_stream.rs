//! See docs/fuzzing.md and `micromodel::fuzzing::fuzz_stream` for the input layout and the property.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| micromodel::fuzzing::fuzz_stream(data));
