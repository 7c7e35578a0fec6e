//! Any bytes as a request line on the control socket (another process of the same user, or
//! root, wrote it): no panic; a request that parses reads back as itself.
#![no_main]

use dozen::control::Request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = dozen::supervisor::server::parse_request(data) {
        let line = serde_json::to_string(&request).expect("a request serializes");
        let again: Request = serde_json::from_str(&line).expect("what it wrote reads back");
        assert_eq!(again, request);
    }
});
