//! Any bytes as what a registry, a token realm or a drain's collector answers: no panic, no
//! hang, no more body written than the bytes held, and never more than the limit asked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for method in ["GET", "HEAD"] {
        for limit in [u64::MAX, 16] {
            let mut wire = data;
            let mut body = Vec::new();
            let read = dozen::http::read_response(&mut wire, method, &mut body, limit);
            assert!(body.len() as u64 <= limit);
            if let Ok(head) = read {
                assert!(body.len() <= data.len());
                assert!(method != "HEAD" || body.is_empty());
                let _ = head.header("content-type");
            }
        }
        // An error's start, as a registry's words are read.
        let mut wire = data;
        if let Ok((head, pending)) = dozen::http::read_head(&mut wire, method) {
            let mut words = Vec::new();
            let _ = pending.copy_start(&mut wire, head, &mut words, 16);
            assert!(words.len() <= 16);
        }
    }
});
