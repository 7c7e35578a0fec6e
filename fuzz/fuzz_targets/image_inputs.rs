//! Any text as an image reference, a base, a shebang line, and as layer paths and link
//! targets resolved in an image's file system: no panic, no endless link chase, and a
//! resolution that succeeds names a path without `.`, `..` or empty parts.
#![no_main]

use dozen::image::base::Source;
use dozen::image::check::{Node, Tree, shebang};
use dozen::image::registry::Reference;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(reference) = Reference::parse(&text) {
        assert!(!reference.repository.is_empty());
        let _ = reference.manifest_reference();
    }
    let _ = Source::parse(&text);
    let _ = shebang(data);
    // Lines: `d PATH`, `f PATH`, `l PATH TARGET` build the tree; `? DIR PATH` resolves.
    let mut tree = Tree::default();
    for line in text.lines().take(64) {
        let mut parts = line.splitn(3, ' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("d"), Some(path), _) => tree.apply(path, Node::Dir),
            (Some("f"), Some(path), _) => tree.apply(path, Node::File),
            (Some("l"), Some(path), Some(target)) => tree.apply(path, Node::Symlink(target.to_owned())),
            (Some("?"), Some(dir), Some(path)) => {
                if let Some(found) = tree.resolve(dir, path) {
                    assert!(
                        found.is_empty() || found.split('/').all(|p| !p.is_empty() && p != "." && p != ".."),
                        "{found:?}"
                    );
                }
            }
            _ => {}
        }
    }
});
