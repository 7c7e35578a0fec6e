//! When a certificate stops being valid: its `notAfter`, read from its DER (RFC 5280 §4.1)
//! without a full X.509 parser — only the fields before `validity` are walked, each by its
//! tag and length, and anything unexpected is "not known", never a panic.

/// A DER element: its tag, its contents, and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        // Long form: 1 to 4 bytes of length (a certificate is never near 4 GiB).
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let length = bytes
            .iter()
            .fold(0_usize, |n, b| (n << 8) | usize::from(*b));
        (length, rest)
    };
    if rest.len() < length {
        return None;
    }
    let (contents, rest) = rest.split_at(length);
    Some((tag, contents, rest))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// A certificate's `notAfter`, if its DER can be read that far.
pub fn not_after(der: &[u8]) -> Option<jiff::Timestamp> {
    let (SEQUENCE, certificate, _) = element(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(certificate)? else {
        return None;
    };
    let mut rest = tbs;
    let (mut tag, _, mut after) = element(rest)?;
    if tag == VERSION {
        rest = after;
        (tag, _, after) = element(rest)?;
    }
    if tag != INTEGER {
        return None; // the serial number
    }
    rest = after;
    // The signature algorithm, the issuer, then the validity.
    for _ in 0..2 {
        let (SEQUENCE, _, after) = element(rest)? else {
            return None;
        };
        rest = after;
    }
    let (SEQUENCE, validity, _) = element(rest)? else {
        return None;
    };
    let (_, _, after_start) = element(validity)?;
    let (tag, time, _) = element(after_start)?;
    timestamp(tag, time)
}

/// `YYMMDDHHMMSSZ` (a `UTCTime`: 50–99 are 19xx) or `YYYYMMDDHHMMSSZ` (a `GeneralizedTime`).
fn timestamp(tag: u8, text: &[u8]) -> Option<jiff::Timestamp> {
    let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match (tag, text.len()) {
        (UTC_TIME, 12) => {
            let yy: i16 = text[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        (GENERALIZED_TIME, 14) => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let two = |at: usize| rest[at..at + 2].parse::<i8>().ok();
    let time =
        jiff::civil::DateTime::new(year, two(0)?, two(2)?, two(4)?, two(6)?, two(8)?, 0).ok()?;
    jiff::tz::TimeZone::UTC.to_timestamp(time).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(not_after: time::OffsetDateTime) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(vec!["a.test".to_owned()]).unwrap();
        params.not_after = not_after;
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn reads_utc_and_generalized_times() {
        // rcgen writes UTCTime up to 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
        for (year, seconds) in [(2031, 1_931_515_200), (2055, 2_688_897_600)] {
            let at = time::OffsetDateTime::from_unix_timestamp(seconds).unwrap();
            assert_eq!(at.year(), year);
            assert_eq!(
                not_after(&made(at)).map(jiff::Timestamp::as_second),
                Some(seconds)
            );
        }
    }

    #[test]
    fn anything_else_is_not_known() {
        let der = made(time::OffsetDateTime::from_unix_timestamp(1_931_515_200).unwrap());
        for cut in 0..der.len() {
            let _ = not_after(&der[..cut]);
        }
        for at in 0..der.len() {
            let mut bent = der.clone();
            bent[at] ^= 0xff;
            let _ = not_after(&bent);
        }
        assert_eq!(not_after(b""), None);
        assert_eq!(not_after(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(timestamp(UTC_TIME, b"991332000000Z"), None, "month 13");
        assert_eq!(timestamp(UTC_TIME, b"+9123100000Z"), None);
    }
}
