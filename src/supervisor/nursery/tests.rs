use super::*;
use std::io::{BufRead as _, Read as _};
use std::sync::mpsc;

/// What a test waits for, at most, before it fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// The supervisor's end and the nursery's end, as `Nursery::start` makes them.
fn socketpair() -> (OwnedFd, OwnedFd) {
    rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap()
}

/// (read end, write end).
fn pipe() -> (OwnedFd, OwnedFd) {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap()
}

/// An event reader that gives up (`None`) after [`PATIENCE`] instead of blocking.
fn events_of(socket: &OwnedFd) -> Events {
    let socket = socket.try_clone().unwrap();
    rustix::net::sockopt::set_socket_timeout(
        &socket,
        rustix::net::sockopt::Timeout::Recv,
        Some(PATIENCE),
    )
    .unwrap();
    Events {
        socket,
        buf: vec![0; 64 * 1024],
    }
}

fn send_request(socket: &OwnedFd, request: &Request, fds: &[BorrowedFd<'_>]) {
    send(socket, &serde_json::to_vec(request).unwrap(), fds).unwrap();
}

fn spawn(id: u64, script: &str) -> Request {
    Request::Spawn {
        id,
        argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        cwd: None,
        stop_signal: 15,
        kill_timeout_ms: 5_000,
    }
}

/// Everything `fd` gives until its write ends are all closed: `None` when that takes
/// longer than [`PATIENCE`] (a copy of a write end is still open somewhere).
fn read_to_end(fd: OwnedFd) -> Option<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::fs::File::from(fd).read_to_string(&mut text);
        let _ = tx.send(text);
    });
    rx.recv_timeout(PATIENCE).ok()
}

/// Waits for process `pid`, a child of the test: its exit code, or the signal that ended it.
fn wait(pid: i32) -> (Option<i32>, Option<i32>) {
    let status = rustix::process::waitpid(Pid::from_raw(pid), WaitOptions::empty())
        .unwrap()
        .unwrap()
        .1;
    (status.exit_status(), status.terminating_signal())
}

/// The nursery's server loop, on a thread of the test, serving the other end of
/// `supervisor`. Nothing here starts `dozen __nursery` (a unit test's binary is not
/// dozen), so what the nursery reaps (`reap`, driven by `SIGCHLD`) is not run: the tests
/// wait for their processes themselves.
struct Served {
    supervisor: OwnedFd,
    events: Events,
    thread: std::thread::JoinHandle<Serving>,
    /// The write end of the signal pipe, kept open: a closed one would wake the loop over
    /// and over, and its reaping would take the tests' processes from them.
    _signals: OwnedFd,
}

impl Served {
    fn start() -> Self {
        let (supervisor, nursery) = socketpair();
        let (signal_read, signal_write) = pipe();
        let thread = std::thread::spawn(move || {
            let mut serving = Serving {
                socket: nursery,
                children: HashMap::new(),
                buf: vec![0; MAX_MESSAGE],
            };
            serving.run(&signal_read);
            serving
        });
        Self {
            events: events_of(&supervisor),
            supervisor,
            thread,
            _signals: signal_write,
        }
    }

    fn send(&self, request: &Request, fds: &[BorrowedFd<'_>]) {
        send_request(&self.supervisor, request, fds);
    }

    fn next(&mut self) -> Event {
        self.events.next_event().expect("an event from the nursery")
    }

    /// The pid of the process spawned as `id`.
    fn spawned(&mut self, id: u64) -> i32 {
        match self.next() {
            Event::Spawned { id: got, pid } if got == id => pid,
            other => panic!("expected {id} spawned, got {other:?}"),
        }
    }

    /// Every request sent so far has been handled: one without an output pipe is answered
    /// at once, after them.
    fn barrier(&mut self) {
        self.send(&spawn(u64::MAX, "true"), &[]);
        assert!(
            matches!(self.next(), Event::SpawnFailed { id: u64::MAX, .. }),
            "the barrier's request is the next one answered"
        );
    }

    /// The supervisor goes away: the loop ends; what it holds, for a look.
    fn finish(self) -> Serving {
        // The event reader's duplicate too: the socket closes with its last descriptor.
        let Self {
            supervisor,
            events,
            thread,
            ..
        } = self;
        drop((supervisor, events));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(thread.join());
        });
        rx.recv_timeout(PATIENCE)
            .expect("the nursery's loop ends when the supervisor is gone")
            .unwrap()
    }
}

#[test]
fn requests_and_events_are_json_objects_tagged_by_op_and_ev() {
    let text = serde_json::to_string(&Request::Signal { id: 7, signal: 15 }).unwrap();
    assert_eq!(text, r#"{"op":"signal","id":7,"signal":15}"#);
    let spawn: Request = serde_json::from_str(
        r#"{"op":"spawn","id":1,"argv":["sh"],"env":[["A","1"]],"cwd":null,"stop_signal":15,"kill_timeout_ms":5000}"#,
    )
    .unwrap();
    assert!(
        matches!(spawn, Request::Spawn { id: 1, ref env, .. } if env == &[("A".to_owned(), "1".to_owned())])
    );
    assert!(serde_json::from_str::<Request>(r#"{"op":"launch","id":1}"#).is_err());
    let exited = Event::Exited {
        id: 3,
        code: None,
        signal: Some(9),
        others: 2,
    };
    let text = serde_json::to_string(&exited).unwrap();
    assert_eq!(
        text,
        r#"{"ev":"exited","id":3,"code":null,"signal":9,"others":2}"#
    );
    assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), exited);
    // `others` came later: an exit without it is an exit that left nothing running.
    assert_eq!(
        serde_json::from_str::<Event>(r#"{"ev":"exited","id":3,"code":0,"signal":null}"#).unwrap(),
        Event::Exited {
            id: 3,
            code: Some(0),
            signal: None,
            others: 0
        }
    );
    assert_eq!(
        serde_json::to_string(&Event::SpawnFailed {
            id: 4,
            error: "no".into()
        })
        .unwrap(),
        r#"{"ev":"spawn_failed","id":4,"error":"no"}"#
    );
}

#[test]
fn a_message_arrives_whole_with_its_fds_and_they_close_on_exec() {
    let (supervisor, nursery) = socketpair();
    let (out_read, out_write) = pipe();
    let (err_read, err_write) = pipe();
    send(
        &supervisor,
        b"first",
        &[out_write.as_fd(), err_write.as_fd()],
    )
    .unwrap();
    send(&supervisor, b"second", &[]).unwrap();
    drop((out_write, err_write));
    let mut buf = vec![0; 64];
    let (bytes, fds) = receive(&nursery, &mut buf).unwrap();
    assert_eq!(&buf[..bytes], b"first");
    assert_eq!(fds.len(), 2, "both pipes came with their message");
    for fd in &fds {
        assert!(
            rustix::io::fcntl_getfd(fd)
                .unwrap()
                .contains(rustix::io::FdFlags::CLOEXEC),
            "a received fd must not leak into the next process the nursery starts"
        );
    }
    rustix::io::write(&fds[0], b"out").unwrap();
    rustix::io::write(&fds[1], b"err").unwrap();
    drop(fds);
    assert_eq!(read_to_end(out_read).as_deref(), Some("out"));
    assert_eq!(read_to_end(err_read).as_deref(), Some("err"));
    // Packets keep their bounds: the second message is read alone, without fds.
    let (bytes, fds) = receive(&nursery, &mut buf).unwrap();
    assert_eq!((&buf[..bytes], fds.len()), (&b"second"[..], 0));
}

#[test]
fn the_event_reader_skips_what_it_cannot_read_and_ends_when_the_nursery_is_gone() {
    let (supervisor, nursery) = socketpair();
    let mut events = events_of(&supervisor);
    let spawned = Event::Spawned { id: 1, pid: 42 };
    send(&nursery, b"not json", &[]).unwrap();
    send(&nursery, br#"{"ev":"born","id":1}"#, &[]).unwrap();
    send(&nursery, &serde_json::to_vec(&spawned).unwrap(), &[]).unwrap();
    // Larger than the reader's buffer: cut short, so not an event; the next one is read.
    let huge = Event::SpawnFailed {
        id: 2,
        error: "x".repeat(100 * 1024),
    };
    send(&nursery, &serde_json::to_vec(&huge).unwrap(), &[]).unwrap();
    let exited = Event::Exited {
        id: 1,
        code: Some(0),
        signal: None,
        others: 0,
    };
    send(&nursery, &serde_json::to_vec(&exited).unwrap(), &[]).unwrap();
    drop(nursery);
    assert_eq!(events.next_event(), Some(spawned));
    assert_eq!(events.next_event(), Some(exited));
    assert_eq!(events.next_event(), None, "the nursery is gone");
}

#[test]
fn sending_to_a_nursery_that_is_gone_is_an_error_not_a_signal() {
    let (supervisor, nursery) = socketpair();
    drop(nursery);
    let error = send(&supervisor, b"{}", &[]).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe);
}

#[test]
fn a_message_too_large_for_the_socket_is_refused_whole_never_cut_short() {
    let (supervisor, nursery) = socketpair();
    // A packet cannot be larger than the socket's send buffer.
    let limit = rustix::net::sockopt::socket_send_buffer_size(&supervisor).unwrap();
    let huge = vec![b' '; limit + 1];
    assert!(send(&supervisor, &huge, &[]).is_err());
    // Nothing of it arrived: the next message is the first the nursery reads.
    send(&supervisor, b"next", &[]).unwrap();
    let mut buf = vec![0; MAX_MESSAGE];
    let (bytes, _) = receive(&nursery, &mut buf).unwrap();
    assert_eq!(&buf[..bytes], b"next");
}

#[test]
fn finishing_ends_the_event_reader_though_it_holds_a_duplicate_of_the_socket() {
    let (ours, theirs) = socketpair();
    let child = Command::new("/bin/true").spawn().unwrap();
    let nursery = Nursery {
        socket: ours,
        child,
    };
    let mut events = nursery.events().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(events.next_event());
    });
    nursery.finish();
    assert_eq!(
        rx.recv_timeout(PATIENCE).expect("the reader ended"),
        None,
        "no event after the end"
    );
    // The nursery's end hears that the supervisor is gone.
    let mut buf = [0; 16];
    assert_eq!(receive(&theirs, &mut buf).unwrap().0, 0);
}

#[test]
fn the_nursery_sends_what_it_is_asked_on_the_socket() {
    let (ours, theirs) = socketpair();
    let nursery = Nursery {
        socket: ours,
        child: Command::new("/bin/true").spawn().unwrap(),
    };
    let (_read, write) = pipe();
    nursery
        .send(&Request::Signal { id: 9, signal: 2 }, &[write.as_fd()])
        .unwrap();
    let mut buf = vec![0; 1024];
    let (bytes, fds) = receive(&theirs, &mut buf).unwrap();
    assert!(matches!(
        serde_json::from_slice::<Request>(&buf[..bytes]).unwrap(),
        Request::Signal { id: 9, signal: 2 }
    ));
    assert_eq!(fds.len(), 1);
    nursery.finish();
}

#[test]
fn an_instance_gets_the_one_pipe_as_stdout_and_stderr_and_its_output_ends_with_it() {
    let mut served = Served::start();
    let (read, write) = pipe();
    served.send(&spawn(1, "echo out; echo err >&2"), &[write.as_fd()]);
    drop(write);
    let pid = served.spawned(1);
    // The nursery keeps no copy of the pipe: the output ends when the process does,
    // while the nursery still serves.
    assert_eq!(read_to_end(read).as_deref(), Some("out\nerr\n"));
    assert_eq!(wait(pid), (Some(0), None));
    served.finish();
}

#[test]
fn two_pipes_keep_stdout_and_stderr_apart() {
    let mut served = Served::start();
    let (out_read, out_write) = pipe();
    let (err_read, err_write) = pipe();
    served.send(
        &spawn(1, "echo out; echo err >&2; exit 3"),
        &[out_write.as_fd(), err_write.as_fd()],
    );
    drop((out_write, err_write));
    let pid = served.spawned(1);
    assert_eq!(read_to_end(out_read).as_deref(), Some("out\n"));
    assert_eq!(read_to_end(err_read).as_deref(), Some("err\n"));
    assert_eq!(wait(pid), (Some(3), None));
    served.finish();
}

#[test]
fn an_instance_gets_exactly_the_given_environment_directory_and_own_group() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = Served::start();
    let (read, write) = pipe();
    // Nothing of the test's own environment (it has a PATH at least) reaches the instance.
    assert!(std::env::var_os("PATH").is_some());
    let mut env = spawn(1, "");
    if let Request::Spawn { argv, env, .. } = &mut env {
        *argv = vec!["/usr/bin/env".into()];
        *env = vec![("GREETING".into(), "hello".into())];
    }
    served.send(&env, &[write.as_fd()]);
    drop(write);
    let pid = served.spawned(1);
    assert_eq!(read_to_end(read).as_deref(), Some("GREETING=hello\n"));
    assert_eq!(wait(pid), (Some(0), None));
    let (read, write) = pipe();
    let mut placed = spawn(2, "pwd; cut -d' ' -f5 /proc/$$/stat");
    if let Request::Spawn { cwd, .. } = &mut placed {
        *cwd = Some(dir.path().display().to_string());
    }
    served.send(&placed, &[write.as_fd()]);
    drop(write);
    let pid = served.spawned(2);
    let cwd = dir.path().canonicalize().unwrap();
    assert_eq!(
        read_to_end(read),
        Some(format!("{}\n{pid}\n", cwd.display())),
        "in the given directory, the leader of a process group of its own"
    );
    assert_eq!(wait(pid), (Some(0), None));
    served.finish();
}

#[test]
fn a_spawn_that_cannot_start_is_answered_and_the_nursery_serves_on() {
    let mut served = Served::start();
    let (_read, write) = pipe();
    // No output pipe.
    served.send(&spawn(1, "true"), &[]);
    assert_eq!(
        served.next(),
        Event::SpawnFailed {
            id: 1,
            error: "empty command or no output pipe".into()
        }
    );
    // No command.
    let mut empty = spawn(2, "true");
    if let Request::Spawn { argv, .. } = &mut empty {
        argv.clear();
    }
    served.send(&empty, &[write.as_fd()]);
    assert!(matches!(served.next(), Event::SpawnFailed { id: 2, .. }));
    // A program that is not there: the system's error.
    let mut missing = spawn(3, "true");
    if let Request::Spawn { argv, .. } = &mut missing {
        *argv = vec!["/nonexistent/program".into()];
    }
    served.send(&missing, &[write.as_fd()]);
    match served.next() {
        Event::SpawnFailed { id: 3, error } => {
            assert!(error.contains("No such file"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    // A directory that is not there.
    let mut nowhere = spawn(4, "true");
    if let Request::Spawn { cwd, .. } = &mut nowhere {
        *cwd = Some("/nonexistent/directory".into());
    }
    served.send(&nowhere, &[write.as_fd()]);
    assert!(matches!(served.next(), Event::SpawnFailed { id: 4, .. }));
    // And it still serves.
    served.send(&spawn(5, "exit 0"), &[write.as_fd()]);
    let pid = served.spawned(5);
    assert_eq!(wait(pid), (Some(0), None));
    let serving = served.finish();
    assert_eq!(
        serving.children.values().map(|c| c.id).collect::<Vec<_>>(),
        [5],
        "only what started is the nursery's to watch"
    );
}

#[test]
fn a_request_it_cannot_read_is_skipped_and_its_fds_are_closed() {
    let mut served = Served::start();
    let (read, write) = pipe();
    send(&served.supervisor, b"not json", &[write.as_fd()]).unwrap();
    send(
        &served.supervisor,
        br#"{"op":"launch","id":1}"#,
        &[write.as_fd()],
    )
    .unwrap();
    drop(write);
    // No answer to either: the next event is the barrier's.
    served.barrier();
    // The nursery kept no copy of the pipe it was sent with them.
    assert_eq!(read_to_end(read).as_deref(), Some(""));
    served.finish();
}

#[test]
fn a_signal_goes_to_the_whole_process_group_of_the_instance() {
    let mut served = Served::start();
    let (read, write) = pipe();
    // The shell's background child holds the pipe too: the pipe ends only when both
    // have been signalled, not the leader alone.
    served.send(&spawn(1, "sleep 30 & echo $!; wait"), &[write.as_fd()]);
    drop(write);
    let pid = served.spawned(1);
    let mut reader = std::io::BufReader::new(std::fs::File::from(read));
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.trim().parse::<i32>().is_ok(), "{line:?}");
    served.send(&Request::Signal { id: 1, signal: 15 }, &[]);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = reader.read_to_string(&mut rest);
        let _ = tx.send(rest);
    });
    assert_eq!(
        rx.recv_timeout(PATIENCE).as_deref(),
        Ok(""),
        "the background sleep got the signal too"
    );
    assert_eq!(wait(pid), (None, Some(15)));
    let serving = served.finish();
    assert!(serving.children[&pid].stop_asked, "a stop it was asked for");
}

#[test]
fn a_signal_for_another_instance_or_an_unknown_signal_is_ignored() {
    let mut served = Served::start();
    let (_read, write) = pipe();
    served.send(&spawn(1, "sleep 30"), &[write.as_fd()]);
    let pid = served.spawned(1);
    served.send(&Request::Signal { id: 2, signal: 15 }, &[]);
    served.send(&Request::Signal { id: 1, signal: 0 }, &[]);
    served.send(
        &Request::Signal {
            id: 1,
            signal: 1000,
        },
        &[],
    );
    served.barrier();
    assert!(
        rustix::process::waitpid(Pid::from_raw(pid), WaitOptions::NOHANG)
            .unwrap()
            .is_none(),
        "it still runs"
    );
    let serving = served.finish();
    assert!(!serving.children[&pid].stop_asked);
    let _ = rustix::process::kill_process_group(Pid::from_raw(pid).unwrap(), Signal::KILL);
    assert_eq!(wait(pid), (None, Some(9)));
}

#[test]
fn an_instance_keeps_its_stop_signal_and_kill_timeout_and_sigterm_stands_in_for_an_unknown_one() {
    let mut served = Served::start();
    let (_read, write) = pipe();
    let mut quit = spawn(1, "exit 0");
    if let Request::Spawn {
        stop_signal,
        kill_timeout_ms,
        ..
    } = &mut quit
    {
        *stop_signal = 3;
        *kill_timeout_ms = 1_500;
    }
    let mut unknown = spawn(2, "exit 0");
    if let Request::Spawn { stop_signal, .. } = &mut unknown {
        *stop_signal = 1000;
    }
    served.send(&quit, &[write.as_fd()]);
    let quitting = served.spawned(1);
    served.send(&unknown, &[write.as_fd()]);
    let unknowing = served.spawned(2);
    let serving = served.finish();
    let (quit, unknown) = (&serving.children[&quitting], &serving.children[&unknowing]);
    assert_eq!(
        (quit.stop_signal, quit.kill_timeout),
        (Signal::QUIT, Duration::from_millis(1_500))
    );
    assert_eq!(unknown.stop_signal, Signal::TERM);
    assert!(quit.alive && quit.leader_ended.is_none());
    wait(quitting);
    wait(unknowing);
}

#[test]
fn the_server_loop_ends_when_the_supervisor_is_gone() {
    let served = Served::start();
    let serving = served.finish();
    assert!(serving.children.is_empty());
}
