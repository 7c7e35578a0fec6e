//! `dozen logs` over the control socket: the client sends one request line
//! (`{"v":1,"op":"logs","n":100,"follow":true,"ps":"web"}`); the run answers a hello line
//! (`{"v":1,"ok":true,"width":6,"types":["web","worker"]}`, or `ok: false` and an error), then
//! the last `n` matching lines as JSON events and, when following, every later one until the
//! client goes or the run ends.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::hub::{Hub, Next};
use super::{Event, Filter};

/// The first line of an answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    pub v: u32,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The longest process name, for aligned text.
    #[serde(default)]
    pub width: usize,
    /// The formation's types in Procfile order (their colours).
    #[serde(default)]
    pub types: Vec<String>,
}

/// How a follower's thread checks that its client is still there when no line comes.
const IDLE_CHECK: Duration = Duration::from_millis(500);

/// Serves one `dozen logs` connection on the control connection's thread.
pub fn serve(stream: &UnixStream, hub: &Hub, n: usize, filter: &Filter, follow: bool) {
    let _ = stream.set_write_timeout(None);
    let (width, types) = hub.layout();
    if let Some(problem) = unknown_type(filter, &types) {
        let refusal = Hello {
            v: crate::control::VERSION,
            ok: false,
            error: Some(problem),
            width,
            types,
        };
        let mut out = serde_json::to_vec(&refusal).expect("serializable");
        out.push(b'\n');
        let _ = (&*stream).write_all(&out);
        return;
    }
    let hello = Hello {
        v: crate::control::VERSION,
        ok: true,
        error: None,
        width,
        types,
    };
    let (last, follower) = hub.read(n, filter, follow);
    let mut out = serde_json::to_vec(&hello).expect("serializable");
    out.push(b'\n');
    for event in &last {
        event.write_json(&mut out);
    }
    drop(last);
    let mut writer = stream;
    if writer.write_all(&out).is_err() {
        if let Some(follower) = &follower {
            hub.unfollow(follower);
        }
        return;
    }
    let Some(follower) = follower else { return };
    loop {
        out.clear();
        match follower.next(IDLE_CHECK) {
            Next::Closed => break,
            Next::Idle => {
                if gone(stream) {
                    break;
                }
                continue;
            }
            Next::Lines { missed, events } => {
                if missed > 0 {
                    Event::system(&format!("{missed} lines missed (this reader was too slow)"))
                        .write_json(&mut out);
                }
                for event in &events {
                    event.write_json(&mut out);
                }
            }
        }
        if writer.write_all(&out).is_err() {
            break;
        }
    }
    hub.unfollow(&follower);
}

/// Whether the client has hung up (it sends nothing after its request).
fn gone(stream: &UnixStream) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let mut fds = [PollFd::new(stream, PollFlags::IN | PollFlags::RDHUP)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
}

/// Why a `-p` filter can match nothing in this run: a type it does not run (an instance of a
/// type it runs may come with a scale, so `web.7` is followed).
fn unknown_type(filter: &Filter, types: &[String]) -> Option<String> {
    use crate::logs::line::{ROUTER_NAME, SYSTEM_NAME};
    let ps = filter.ps.as_deref()?;
    let type_name = ps.split_once('.').map_or(ps, |(t, _)| t);
    // `schedule.NAME`: a scheduled job's runs, which come and go.
    if type_name == ROUTER_NAME
        || ps.starts_with("schedule.")
        || type_name == SYSTEM_NAME
        || types.iter().any(|t| t == type_name)
    {
        return None;
    }
    let guess = crate::diagnostic::did_you_mean(type_name, types.iter().map(String::as_str))
        .map(|g| format!(" (did you mean `{g}`?)"))
        .unwrap_or_default();
    Some(format!(
        "this run has no process type `{type_name}`{guess}: it runs {}",
        types.join(", ")
    ))
}

/// An event as read back.
#[derive(Debug, Deserialize)]
pub(crate) struct WireEvent {
    pub ts: String,
    pub process: String,
    pub stream: String,
    pub line: String,
}

/// What a client prints.
pub struct Output {
    pub json: bool,
    pub color: bool,
}

/// Why `dozen logs` could not print the run's stream.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// Reading from the control socket failed.
    #[error("{0}")]
    Read(#[from] std::io::Error),
    #[error("the run closed the connection without an answer")]
    NoAnswer,
    /// The first line is not the stream's hello.
    #[error("bad answer `{line}`: {source}")]
    BadHello {
        line: String,
        source: serde_json::Error,
    },
    /// The run refused the request, saying why.
    #[error("{0}")]
    Refused(String),
}

/// Reads an answer to the end, printing each line. Returns the hello, or the run's error.
pub fn print_answer(stream: UnixStream, output: &Output) -> Result<(), AnswerError> {
    let mut reader = BufReader::with_capacity(256 * 1024, stream);
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line)? == 0 {
        return Err(AnswerError::NoAnswer);
    }
    let hello: Hello = serde_json::from_slice(&line).map_err(|source| AnswerError::BadHello {
        line: String::from_utf8_lossy(&line).trim().to_owned(),
        source,
    })?;
    if !hello.ok {
        return Err(AnswerError::Refused(
            hello.error.unwrap_or_else(|| "the run refused".into()),
        ));
    }
    let mut formatter = crate::supervisor::output::format::Formatter::new(
        crate::supervisor::output::format::LogFormat::Text,
        true,
        output.color,
        hello.width,
    )
    .for_terminal(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let mut labels = std::collections::HashMap::new();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut text = Vec::new();
    loop {
        let buffered = reader.fill_buf()?;
        if buffered.is_empty() {
            return Ok(());
        }
        // Whole lines of what has arrived, printed at once.
        let Some(end) = memchr::memrchr(b'\n', buffered).map(|end| end + 1) else {
            // Less than a line has arrived: wait for the rest of it.
            line.clear();
            reader.read_until(b'\n', &mut line)?;
            if output.json {
                let _ = out.write_all(&line);
            } else {
                render(&mut text, &line, &mut formatter, &mut labels, &hello.types);
                let _ = out.write_all(&text);
                text.clear();
            }
            continue;
        };
        let written = if output.json {
            out.write_all(&buffered[..end])
        } else {
            for line in buffered[..end].split_inclusive(|b| *b == b'\n') {
                render(&mut text, line, &mut formatter, &mut labels, &hello.types);
            }
            let written = out.write_all(&text);
            text.clear();
            written
        };
        reader.consume(end);
        if written.and_then(|()| out.flush()).is_err() {
            // The reader of our output has gone (`dozen logs | head`): so are we.
            return Ok(());
        }
    }
}

fn render(
    out: &mut Vec<u8>,
    line: &[u8],
    formatter: &mut crate::supervisor::output::format::Formatter,
    labels: &mut std::collections::HashMap<String, crate::supervisor::output::format::Label>,
    types: &[String],
) {
    use crate::supervisor::output::format::{ROUTER_NAME, SYSTEM_NAME};
    let Ok(event) = serde_json::from_slice::<WireEvent>(line) else {
        return;
    };
    let label =
        labels
            .entry(event.process.clone())
            .or_insert_with(|| match event.process.as_str() {
                SYSTEM_NAME => formatter.system_label(),
                ROUTER_NAME => formatter.router_label(),
                name => {
                    let type_name = name.rsplit_once('.').map_or(name, |(t, _)| t);
                    let index = types
                        .iter()
                        .position(|t| t == type_name)
                        .unwrap_or(types.len());
                    formatter.label(name, index)
                }
            });
    let stream = super::Stream::from_name(&event.stream).unwrap_or(super::Stream::Stdout);
    if let Ok(ts) = event.ts.parse() {
        formatter.at(ts);
    }
    formatter.line(
        out,
        label,
        stream,
        crate::supervisor::output::lines::Line {
            bytes: event.line.as_bytes(),
            continued: false,
        },
    );
}

/// Sends a logs request to the run using `store`; the connection, answer unread.
pub fn request(
    store: &std::path::Path,
    n: usize,
    filter: &Filter,
    follow: bool,
) -> Result<UnixStream, crate::control::ClientError> {
    let stream = crate::control::connect(store)?;
    let request = crate::control::Request {
        v: crate::control::VERSION,
        op: crate::control::Op::Logs {
            n,
            follow,
            ps: filter.ps.clone(),
            source: filter.source,
        },
    };
    let mut text = serde_json::to_vec(&request).expect("serializable");
    text.push(b'\n');
    (&stream)
        .write_all(&text)
        .map_err(crate::control::ClientError::Io)?;
    Ok(stream)
}
