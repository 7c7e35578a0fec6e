//! Masking evidence: enough to recognise a secret, never enough to use it.

/// The first 4 characters, `…`, and the length: `AKIA…(20)`. Short values show nothing.
pub fn mask(secret: &str) -> String {
    let length = secret.chars().count();
    if length <= 8 {
        return format!("…({length})");
    }
    let head: String = secret.chars().take(4).collect();
    format!("{head}…({length})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask("AKIAIOSFODNN7EXAMPLE"), "AKIA…(20)");
        assert_eq!(mask("hunter2"), "…(7)");
        assert_eq!(mask("ééééééééééé"), "éééé…(11)");
    }
}
