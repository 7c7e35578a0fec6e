//! Any bytes as what a registry, a token realm or a drain's collector answers: no panic, no
//! hang, and no more body written than the bytes held.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for method in ["GET", "HEAD"] {
        let mut wire = data;
        let mut body = Vec::new();
        if let Ok(head) = dozen::http::read_response(&mut wire, method, &mut body) {
            assert!(body.len() <= data.len());
            assert!(method != "HEAD" || body.is_empty());
            let _ = head.header("content-type");
        }
    }
});
