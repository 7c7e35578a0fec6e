//! Answers given before the request's body was read — by the instance (a `403` or `413` for
//! an upload it does not want) or by the router itself — reach the client, which most often
//! sends its whole body before it reads.

use super::*;

/// An instance that answers an upload at once, `403` and closed, without reading its body
/// (its kernel resets the connection, the unread body in it); anything else gets a `200`.
fn answering_early() -> App {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app = App {
        port: listener.local_addr().unwrap().port(),
        got: Arc::default(),
        closed: Arc::default(),
    };
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut head = Vec::new();
                let mut byte = [0];
                while !head.ends_with(b"\r\n\r\n") {
                    if stream.read(&mut byte).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let answer: &[u8] = if head.starts_with(b"POST") {
                    b"HTTP/1.1 403 Forbidden\r\ncontent-length: 9\r\nconnection: close\r\n\r\nforbidden"
                } else {
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                };
                let _ = stream.write_all(answer);
            });
        }
    });
    app
}

/// Sends an upload of `size` bytes whole, as most HTTP libraries do, then reads the answer's
/// head; then asks for `/` on the same connection. Both statuses.
fn upload_then_get(router: std::net::SocketAddr, size: usize) -> (u16, u16) {
    let mut stream = std::net::TcpStream::connect(router).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    let head = format!("POST /upload HTTP/1.1\r\nhost: app\r\ncontent-length: {size}\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    if stream.write_all(&vec![b'x'; size]).is_err() {
        return (0, 0);
    }
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let status = |reader: &mut BufReader<std::net::TcpStream>| {
        let mut status = String::new();
        reader.read_line(&mut status).unwrap_or(0);
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        status.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
    };
    let uploaded = status(&mut reader);
    let _ = stream.write_all(b"GET / HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n");
    (uploaded, status(&mut reader))
}

#[test]
fn an_instances_answer_before_it_read_the_body_is_passed_on_and_the_connection_kept() {
    let app = answering_early();
    let routed = Routed::start(Limits::default(), &[&app]);
    for _ in 0..20 {
        assert_eq!(upload_then_get(routed.router.listen(), 2 << 20), (403, 200));
    }
    let status = routed.router.status();
    assert_eq!((status.bad_gateway, status.retried), (0, 0));
}

#[test]
fn the_routers_own_answer_before_the_body_is_read_reaches_the_client_too() {
    let limits = Limits {
        queue: Duration::from_millis(200),
        ..Limits::default()
    };
    let routed = Routed::start(limits, &[]);
    let listen = routed.router.listen();
    // No instance: the upload waits the queue's time, gets a 503 with its body unread (more
    // of it than the sockets' buffers hold).
    let (uploaded, _) = upload_then_get(listen, 32 << 20);
    assert_eq!(uploaded, 503);
}
