//! The HTTP server OFREP rides on: hyper's HTTP/1.1 (kept-alive connections, as the SDKs'
//! HTTP clients pool them) on a single-threaded tokio runtime of its own thread. Every request
//! reads the flags in effect at that moment ([`Live::current`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use super::{Answer, MAX_BODY, Route};
use crate::flags::live::Live;

/// How long a request's head and body may take to arrive.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections at once: past it, new ones wait in the listen backlog.
const MAX_CONNECTIONS: usize = 512;

/// The server, running until dropped.
pub struct Serving {
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves OFREP on `listener` from `live`.
pub fn serve(listener: std::net::TcpListener, live: Arc<Live>) -> std::io::Result<Serving> {
    listener.set_nonblocking(true)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let thread = std::thread::Builder::new()
        .name("ofrep".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(accept(listener, live, stopped));
        })?;
    Ok(Serving {
        stop: Some(stop),
        thread: Some(thread),
    })
}

async fn accept(
    listener: std::net::TcpListener,
    live: Arc<Live>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => permit,
            _ = stopped.changed() => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => break,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let live = Arc::clone(&live);
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let live = Arc::clone(&live);
                async move { Ok::<_, Infallible>(handle(request, &live).await) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT);
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}

async fn handle(request: Request<Incoming>, live: &Live) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let route = match super::route(request.method().as_str(), &path) {
        Route::NotPost => {
            let mut answer = error(StatusCode::METHOD_NOT_ALLOWED, "OFREP evaluates with POST");
            answer
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return answer;
        }
        Route::NotOfrep => {
            return error(
                StatusCode::NOT_FOUND,
                "OFREP is at POST /ofrep/v1/evaluate/flags and /ofrep/v1/evaluate/flags/{key}",
            );
        }
        route => route,
    };
    let if_none_match = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = tokio::time::timeout(
        READ_TIMEOUT,
        Limited::new(request.into_body(), MAX_BODY).collect(),
    )
    .await;
    let body = match body {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("a request body is at most {MAX_BODY} bytes"),
            );
        }
        Ok(Err(_)) => return error(StatusCode::BAD_REQUEST, "the request body was cut short"),
        Err(_) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "the request body took too long",
            );
        }
    };
    let loaded = live.current();
    let answer = match route {
        Route::One(key) => super::evaluate_one(&loaded, &key, &body),
        _ => super::evaluate_all(&loaded, &body, if_none_match.as_deref()),
    };
    respond(answer)
}

fn respond(answer: Answer) -> Response<Full<Bytes>> {
    let Answer { status, etag, body } = answer;
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    if status != 304 {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        headers.insert(header::ETAG, etag);
    }
    response
}

/// An error that is not a flag's: OFREP's `{"errorDetails": ...}`.
fn error(status: StatusCode, details: &str) -> Response<Full<Bytes>> {
    respond(Answer {
        status: status.as_u16(),
        etag: None,
        body: serde_json::to_vec(&serde_json::json!({ "errorDetails": details }))
            .expect("serializes"),
    })
}
