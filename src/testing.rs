//! What unit tests across the crate share.

use std::os::fd::OwnedFd;

/// A local port that refuses connections, and the socket that holds it: bound but not
/// listening. A port found free and let go soon serves another test running beside this one;
/// a bound one stays refused until `listen` is called on the socket (`TcpListener::from` it).
pub fn refusing_port() -> (u16, OwnedFd) {
    use rustix::net::{AddressFamily, SocketType, ipproto};
    let bound =
        rustix::net::socket(AddressFamily::INET, SocketType::STREAM, Some(ipproto::TCP)).unwrap();
    rustix::net::bind(&bound, &std::net::SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let port = std::net::SocketAddrV4::try_from(rustix::net::getsockname(&bound).unwrap())
        .unwrap()
        .port();
    (port, bound)
}
