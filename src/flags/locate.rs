//! Finds where in a JSON text a value lives, by its path (a JSON pointer's segments), so an
//! error found in the parsed value can name its line and column.

use std::ops::Range;

/// Where the value at `path` is, and where the key naming it is (`None` for the root and for
/// array elements). `None` when the path is not in the text.
pub struct Found {
    pub key: Option<Range<usize>>,
    pub value: Range<usize>,
}

/// Looks `path` up in `text` (valid JSON: the caller parsed it first).
pub fn locate<S: AsRef<str>>(text: &str, path: &[S]) -> Option<Found> {
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        text,
        at: 0,
    };
    scanner.space();
    let mut key = None;
    for segment in path {
        let segment = segment.as_ref();
        match scanner.bytes.get(scanner.at)? {
            b'{' => {
                scanner.at += 1;
                loop {
                    scanner.space();
                    if scanner.bytes.get(scanner.at)? == &b'}' {
                        return None;
                    }
                    let (name, span) = scanner.string()?;
                    scanner.space();
                    scanner.expect(b':')?;
                    scanner.space();
                    if name == segment {
                        key = Some(span);
                        break;
                    }
                    scanner.skip_value()?;
                    scanner.space();
                    scanner.expect(b',')?;
                }
            }
            b'[' => {
                let index: usize = segment.parse().ok()?;
                scanner.at += 1;
                for _ in 0..index {
                    scanner.space();
                    scanner.skip_value()?;
                    scanner.space();
                    scanner.expect(b',')?;
                }
                scanner.space();
                key = None;
            }
            _ => return None,
        }
    }
    let start = scanner.at;
    scanner.skip_value()?;
    Some(Found {
        key,
        value: start..scanner.at,
    })
}

struct Scanner<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
}

impl Scanner<'_> {
    fn space(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.bytes.get(self.at)? == &byte).then(|| self.at += 1)
    }

    /// A string token, decoded, and its span (quotes included).
    fn string(&mut self) -> Option<(String, Range<usize>)> {
        let start = self.at;
        self.expect(b'"')?;
        loop {
            match self.bytes.get(self.at)? {
                b'"' => break,
                b'\\' => self.at += 2,
                _ => self.at += 1,
            }
        }
        self.at += 1;
        let raw = self.text.get(start..self.at)?;
        Some((serde_json::from_str(raw).ok()?, start..self.at))
    }

    /// Skips one value of any kind, iteratively (no recursion on hostile nesting).
    fn skip_value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            self.space();
            match self.bytes.get(self.at)? {
                b'{' | b'[' => {
                    depth += 1;
                    self.at += 1;
                    continue;
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    self.at += 1;
                }
                b'"' => {
                    self.string()?;
                }
                b',' | b':' if depth > 0 => {
                    self.at += 1;
                    continue;
                }
                _ => {
                    let rest = &self.bytes[self.at..];
                    let len = rest
                        .iter()
                        .position(|b| {
                            matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                        })
                        .unwrap_or(rest.len());
                    if len == 0 {
                        return None;
                    }
                    self.at += len;
                }
            }
            if depth == 0 {
                return Some(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::locate;

    #[test]
    fn finds_keys_and_values() {
        let text = "{\n  \"flags\": {\n    \"a\\u0062\": {\"x\": [1, {\"y\": true}], \"z\": \"q\"}\n  }\n}";
        let found = locate(text, &["flags", "ab", "x", "1", "y"]).expect("found");
        assert_eq!(&text[found.value.clone()], "true");
        assert!(found.key.is_some_and(|k| &text[k] == "\"y\""));
        let found = locate(text, &["flags", "ab", "z"]).expect("found");
        assert_eq!(&text[found.value], "\"q\"");
        let found = locate(text, &["flags", "ab"]).expect("found");
        assert!(text[found.value].starts_with("{\"x\""));
        assert!(locate(text, &["flags", "nope"]).is_none());
        assert!(locate(text, &["flags", "ab", "x", "5"]).is_none());
        let root = locate(text, &[] as &[&str]).expect("root");
        assert_eq!(root.value, 0..text.len());
    }
}
