//! Semantic versions as flagd's `sem_ver` reads them: Go's `golang.org/x/mod/semver`, which
//! takes `v1` and `v1.2` as shorthands for `v1.0.0` and `v1.2.0` and ignores build metadata
//! when comparing. flagd prefixes a missing `v` (and turns a leading `V` into `v`) first.

use std::cmp::Ordering;

/// A parsed version; the numbers are kept as digit strings, compared by length then text, so
/// no size overflows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    major: String,
    minor: String,
    patch: String,
    prerelease: String,
}

impl Version {
    /// Reads a version as flagd normalises it: `1.2.3`, `v1.2.3`, `V1.2.3`, `1.2`, `1`.
    pub fn parse_flagd(text: &str) -> Option<Self> {
        let normalised = if text.starts_with('v') {
            text.to_owned()
        } else {
            format!("v{}", text.strip_prefix('V').unwrap_or(text))
        };
        Self::parse(&normalised)
    }

    /// Go's `semver.IsValid` grammar: `v` then major[.minor[.patch[-pre][+build]]].
    fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix('v')?;
        let (major, rest) = number(rest)?;
        let zero = || "0".to_owned();
        if rest.is_empty() {
            return Some(Self::new(major, zero(), zero(), String::new()));
        }
        let (minor, rest) = number(rest.strip_prefix('.')?)?;
        if rest.is_empty() {
            return Some(Self::new(major, minor, zero(), String::new()));
        }
        let (patch, mut rest) = number(rest.strip_prefix('.')?)?;
        let mut prerelease = String::new();
        if let Some(pre) = rest.strip_prefix('-') {
            let end = pre.find('+').unwrap_or(pre.len());
            let (pre, after) = pre.split_at(end);
            if !pre.split('.').all(|ident| identifier(ident, true)) {
                return None;
            }
            pre.clone_into(&mut prerelease);
            rest = after;
        }
        if let Some(build) = rest.strip_prefix('+') {
            if !build.split('.').all(|ident| identifier(ident, false)) {
                return None;
            }
            rest = "";
        }
        rest.is_empty()
            .then(|| Self::new(major, minor, patch, prerelease))
    }

    fn new(major: String, minor: String, patch: String, prerelease: String) -> Self {
        Self {
            major,
            minor,
            patch,
            prerelease,
        }
    }

    /// The major version alone (Go's `semver.Major`), as a version to compare.
    pub fn major_only(&self) -> Self {
        Self::new(self.major.clone(), "0".into(), "0".into(), String::new())
    }

    /// Major and minor alone (Go's `semver.MajorMinor`).
    pub fn major_minor(&self) -> Self {
        Self::new(
            self.major.clone(),
            self.minor.clone(),
            "0".into(),
            String::new(),
        )
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_int(&self.major, &other.major)
            .then_with(|| compare_int(&self.minor, &other.minor))
            .then_with(|| compare_int(&self.patch, &other.patch))
            .then_with(|| compare_prerelease(&self.prerelease, &other.prerelease))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Leading digits without a leading zero (but `0` itself), and what follows.
fn number(text: &str) -> Option<(String, &str)> {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let digits = &text[..end];
    if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    Some((digits.to_owned(), &text[end..]))
}

fn identifier(ident: &str, prerelease: bool) -> bool {
    !ident.is_empty()
        && ident
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !(prerelease
            && ident.len() > 1
            && ident.starts_with('0')
            && ident.bytes().all(|b| b.is_ascii_digit()))
}

fn compare_int(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Semver's precedence: a release is above its prereleases; identifiers compare numerically
/// when both are numbers, numbers rank below words, and a shorter list of equal identifiers
/// ranks lower.
fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let numeric = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
                let order = match (numeric(x), numeric(y)) {
                    (true, true) => compare_int(x, y),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Version;

    fn v(text: &str) -> Version {
        Version::parse_flagd(text).unwrap_or_else(|| panic!("{text} should parse"))
    }

    #[test]
    fn grammar_follows_go_semver() {
        for good in [
            "1.2.3",
            "v1.2.3",
            "V1.2.3",
            "1",
            "1.2",
            "1.2.3-alpha.1",
            "1.2.3+build.5",
            "1.2.3-rc.1+b",
        ] {
            assert!(Version::parse_flagd(good).is_some(), "{good}");
        }
        for bad in [
            "", "x", "1.", "01.2.3", "1.2.3.4", "1.2-pre", "1.2.3-", "1.2.3-01", "1.2.3+", "vv1",
        ] {
            assert!(Version::parse_flagd(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn precedence() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.2",
            "1.10.0",
            "2",
            "10.0.0",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.2.3+a"), v("1.2.3+b"));
        assert_eq!(v("1"), v("1.0.0"));
        assert_eq!(v("1.5.9").major_minor(), v("1.5.0").major_minor());
        assert_ne!(v("1.5.9").major_minor(), v("1.6.0").major_minor());
        assert_eq!(v("3.9.9").major_only(), v("3.0.1").major_only());
    }
}
