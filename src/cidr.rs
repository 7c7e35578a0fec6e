//! Address ranges as people write them: `10.0.0.0/8`, `fd00::/8`, or one address
//! (`127.0.0.1`, `::1`) — what `NO_PROXY` and `[router] trusted_proxies` list.

use std::net::IpAddr;

/// An address range: the addresses whose first `bits` bits are `net`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

/// Why a text is not an address range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("`{0}` is not an IP address or a range (10.0.0.0/8, 127.0.0.1, fd00::/8)")]
    NotAnAddress(String),
    #[error("`{text}`: an IPv{version} range has at most {max} bits")]
    TooManyBits { text: String, version: u8, max: u8 },
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        let text = text.trim();
        let not = || CidrError::NotAnAddress(text.to_owned());
        let (address, bits) = match text.split_once('/') {
            Some((address, bits)) => (address, Some(bits.parse::<u8>().map_err(|_| not())?)),
            None => (text, None),
        };
        let net: IpAddr = address
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| not())?;
        let (version, max) = if net.is_ipv4() { (4, 32) } else { (6, 128) };
        let bits = bits.unwrap_or(max);
        if bits > max {
            return Err(CidrError::TooManyBits {
                text: text.to_owned(),
                version,
                max,
            });
        }
        Ok(Self { net, bits })
    }

    /// Whether `ip` is in the range. An IPv4 address mapped into IPv6 (`::ffff:10.1.2.3`,
    /// as a dual-stack socket reports a v4 peer) counts as the IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 @ IpAddr::V4(_) => v4,
        };
        let (ip, net, width) = match (ip, self.net) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                (u128::from(a.to_bits()), u128::from(b.to_bits()), 32)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => (a.to_bits(), b.to_bits(), 128),
            _ => return false,
        };
        let shift = width - u32::from(self.bits);
        shift >= width || (ip >> shift) == (net >> shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_single_addresses() {
        let has = |range: &str, ip: &str| Cidr::parse(range).unwrap().contains(ip.parse().unwrap());
        assert!(has("10.0.0.0/8", "10.255.1.2"));
        assert!(!has("10.0.0.0/8", "11.0.0.1"));
        assert!(has("127.0.0.1", "127.0.0.1"));
        assert!(!has("127.0.0.1", "127.0.0.2"));
        assert!(has("0.0.0.0/0", "203.0.113.9"));
        assert!(has("fd00::/8", "fd12::1"));
        assert!(!has("fd00::/8", "fe80::1"));
        assert!(has("::1", "::1"));
        assert!(has("[::1]", "::1"));
        assert!(has("::/0", "2001:db8::1"));
        // A v4 peer on a dual-stack socket.
        assert!(has("10.0.0.0/8", "::ffff:10.1.2.3"));
        assert!(!has("10.0.0.0/8", "2001:db8::1"));
        assert_eq!(
            Cidr::parse("10.0.0.0/33").unwrap_err().to_string(),
            "`10.0.0.0/33`: an IPv4 range has at most 32 bits"
        );
        assert_eq!(
            Cidr::parse("example.com").unwrap_err().to_string(),
            "`example.com` is not an IP address or a range (10.0.0.0/8, 127.0.0.1, fd00::/8)"
        );
        assert!(Cidr::parse("10.0.0.0/x").is_err());
    }
}
