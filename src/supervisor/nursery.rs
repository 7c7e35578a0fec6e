//! The nursery: one guardian process (`dozen __nursery`) that is the parent of every app
//! process, a subreaper for their orphans, and cleans everything up when the supervisor goes
//! away — whatever way it goes, SIGKILL included. See docs/supervisor.md.
//!
//! It talks to the supervisor over a `SOCK_SEQPACKET` socket on its fd 0: one JSON message per
//! packet, with the instance's output pipes attached (`SCM_RIGHTS`) to spawn requests.

use std::collections::HashMap;
use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};
use rustix::process::{Pid, Signal, WaitOptions};
use serde::{Deserialize, Serialize};

use super::reaper;

/// How often a group whose leader has ended is looked at, until it is empty (20 ms).
const DRAIN_POLL_NS: i64 = 20_000_000;

/// Live members of the process group `leader` leads, the leader itself aside (from `/proc`:
/// every member is a descendant of the nursery, which adopts the orphans).
fn group_members(leader: Pid) -> usize {
    let group = leader.as_raw_nonzero().get();
    reaper::descendants(rustix::process::getpid())
        .into_iter()
        .filter(|pid| {
            *pid != leader
                && reaper::process_group_of(*pid) == Some(group)
                && !reaper::is_zombie(*pid)
        })
        .count()
}

/// The largest message: a spawn request carries the whole environment.
const MAX_MESSAGE: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Start a process in its own group, with the attached fds as stdout (and stderr).
    Spawn {
        id: u64,
        argv: Vec<String>,
        env: Vec<(String, String)>,
        cwd: Option<String>,
        stop_signal: i32,
        kill_timeout_ms: u64,
    },
    /// Send a signal to an instance's process group.
    Signal { id: u64, signal: i32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum Event {
    Spawned {
        id: u64,
        pid: i32,
    },
    SpawnFailed {
        id: u64,
        error: String,
    },
    /// The instance's process ended: its exit code, or the signal that ended it.
    Exited {
        id: u64,
        code: Option<i32>,
        signal: Option<i32>,
        /// The nursery's other live descendants when it ended: for a one-off (the nursery's
        /// only child), what the command left running.
        #[serde(default)]
        others: usize,
    },
}

/// The supervisor's end.
pub struct Nursery {
    socket: OwnedFd,
    child: std::process::Child,
}

impl Nursery {
    /// Starts `dozen __nursery` in its own process group (so a terminal's Ctrl-C reaches only
    /// the supervisor).
    pub fn start() -> std::io::Result<Self> {
        let (ours, theirs) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )?;
        let exe = std::env::current_exe()?;
        let child = Command::new(exe)
            .arg("__nursery")
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()?;
        Ok(Self {
            socket: ours,
            child,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn send(&self, request: &Request, fds: &[BorrowedFd<'_>]) -> std::io::Result<()> {
        send(&self.socket, &serde_json::to_vec(request)?, fds)
    }

    /// A handle for the thread that reads events.
    pub fn events(&self) -> std::io::Result<Events> {
        Ok(Events {
            socket: self.socket.try_clone()?,
            buf: vec![0; 64 * 1024],
        })
    }

    /// Closes our end: the nursery cleans up whatever is left and exits; wait for it.
    /// `shutdown` (not just `close`) so the event reader's duplicate of the socket does not
    /// keep it open.
    pub fn finish(mut self) {
        let _ = rustix::net::shutdown(&self.socket, rustix::net::Shutdown::Both);
        drop(self.socket);
        let _ = self.child.wait();
    }
}

/// Blocking reader of the nursery's events.
pub struct Events {
    socket: OwnedFd,
    buf: Vec<u8>,
}

impl Events {
    /// The next event; `None` when the nursery is gone.
    pub fn next_event(&mut self) -> Option<Event> {
        loop {
            let (bytes, _) = receive(&self.socket, &mut self.buf).ok()?;
            if bytes == 0 {
                return None;
            }
            if let Ok(event) = serde_json::from_slice(&self.buf[..bytes]) {
                return Some(event);
            }
        }
    }
}

fn send(socket: &OwnedFd, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> std::io::Result<()> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() {
        control.push(SendAncillaryMessage::ScmRights(fds));
    }
    rustix::net::sendmsg(
        socket,
        &[IoSlice::new(bytes)],
        &mut control,
        SendFlags::NOSIGNAL,
    )?;
    Ok(())
}

/// One packet and the fds attached to it.
fn receive(socket: &OwnedFd, buf: &mut [u8]) -> std::io::Result<(usize, Vec<OwnedFd>)> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let message = loop {
        match rustix::net::recvmsg(
            socket,
            &mut [IoSliceMut::new(buf)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        ) {
            Err(rustix::io::Errno::INTR) => {}
            other => break other?,
        }
    };
    let mut fds = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    Ok((message.bytes, fds))
}

/// An instance the nursery started.
struct Child {
    id: u64,
    pid: Pid,
    stop_signal: Signal,
    kill_timeout: Duration,
    alive: bool,
    /// Other live descendants of the nursery when this one ended.
    others: usize,
    /// The leader's exit (code, signal) once it ended. The leader is then kept unreaped — its
    /// pid, and so the group's id, cannot be reused — until the rest of its group is gone.
    leader_ended: Option<(Option<i32>, Option<i32>)>,
    /// The supervisor asked this instance to stop: its group has its signal already.
    stop_asked: bool,
    /// When what is left of the group gets SIGKILL (a leader that ended on its own left
    /// processes behind: they got the stop signal, and this long).
    kill_at: Option<Instant>,
}

/// `dozen __nursery`: serves the supervisor on fd 0 until it goes away, then ends every
/// process it started and every orphan it adopted. Returns the exit code.
pub fn serve() -> i32 {
    if let Err(error) = reaper::become_subreaper() {
        eprintln!("dozen: nursery cannot become a subreaper: {error}");
        return 1;
    }
    let socket: OwnedFd = match std::io::stdin().as_fd().try_clone_to_owned() {
        Ok(fd) => fd,
        Err(_) => return 1,
    };
    // fd 0 is the socket: keep it out of the apps (they get /dev/null as stdin anyway).
    let _ = rustix::io::fcntl_setfd(std::io::stdin(), rustix::io::FdFlags::CLOEXEC);
    let Ok((signal_read, signal_write)) = rustix::pipe::pipe_with(
        rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
    ) else {
        return 1;
    };
    let signal_write = std::os::unix::net::UnixStream::from(signal_write);
    for signal in [
        signal_hook::consts::SIGCHLD,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        // SIGTERM, SIGINT and SIGHUP only wake us: stopping is the supervisor's decision,
        // and handlers (unlike SIG_IGN) are reset to default in the processes we start.
        if signal_hook::low_level::pipe::register(
            signal,
            signal_write.try_clone().expect("clone of a pipe end"),
        )
        .is_err()
        {
            return 1;
        }
    }
    let mut nursery = Serving {
        socket,
        children: HashMap::new(),
        buf: vec![0; MAX_MESSAGE],
    };
    nursery.run(&signal_read);
    nursery.shut_down();
    0
}

struct Serving {
    socket: OwnedFd,
    children: HashMap<i32, Child>,
    buf: Vec<u8>,
}

impl Serving {
    fn run(&mut self, signals: &OwnedFd) {
        loop {
            let mut fds = [
                PollFd::new(&self.socket, PollFlags::IN),
                PollFd::new(signals, PollFlags::IN),
            ];
            let timeout = self.draining().then_some(rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: DRAIN_POLL_NS,
            });
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                Ok(0) => {
                    self.reap();
                    continue;
                }
                Ok(_) => {}
                Err(_) => continue,
            }
            let (socket_ready, signal_ready) =
                (!fds[0].revents().is_empty(), !fds[1].revents().is_empty());
            if signal_ready {
                let mut sink = [0u8; 64];
                while matches!(rustix::io::read(signals, &mut sink), Ok(n) if n > 0) {}
                self.reap();
            }
            if socket_ready {
                let Ok((bytes, fds)) = receive(&self.socket, &mut self.buf) else {
                    return;
                };
                if bytes == 0 {
                    return; // The supervisor is gone.
                }
                match serde_json::from_slice::<Request>(&self.buf[..bytes]) {
                    Ok(request) => self.handle(request, fds),
                    Err(error) => eprintln!("dozen: nursery: bad request: {error}"),
                }
            }
        }
    }

    fn tell(&self, event: &Event) {
        if let Ok(bytes) = serde_json::to_vec(event) {
            let _ = send(&self.socket, &bytes, &[]);
        }
    }

    fn handle(&mut self, request: Request, mut fds: Vec<OwnedFd>) {
        match request {
            Request::Spawn {
                id,
                argv,
                env,
                cwd,
                stop_signal,
                kill_timeout_ms,
            } => {
                let (Some(program), Some(stdout)) = (argv.first(), fds.first()) else {
                    self.tell(&Event::SpawnFailed {
                        id,
                        error: "empty command or no output pipe".into(),
                    });
                    return;
                };
                let stderr = match fds.get(1) {
                    Some(fd) => fd.try_clone(),
                    None => stdout.try_clone(),
                };
                let (Ok(stdout), Ok(stderr)) = (stdout.try_clone(), stderr) else {
                    self.tell(&Event::SpawnFailed {
                        id,
                        error: "cannot duplicate the output pipes".into(),
                    });
                    return;
                };
                fds.clear();
                let mut command = Command::new(program);
                command
                    .args(&argv[1..])
                    .env_clear()
                    .envs(env)
                    .process_group(0)
                    .stdin(Stdio::null())
                    .stdout(stdout)
                    .stderr(stderr);
                if let Some(cwd) = cwd {
                    command.current_dir(cwd);
                }
                match command.spawn() {
                    Ok(child) => {
                        let pid = Pid::from_child(&child);
                        let stop_signal =
                            Signal::from_named_raw(stop_signal).unwrap_or(Signal::TERM);
                        let kill_timeout = Duration::from_millis(kill_timeout_ms);
                        self.children.insert(
                            pid.as_raw_nonzero().get(),
                            Child {
                                id,
                                pid,
                                stop_signal,
                                kill_timeout,
                                alive: true,
                                others: 0,
                                leader_ended: None,
                                stop_asked: false,
                                kill_at: None,
                            },
                        );
                        self.tell(&Event::Spawned {
                            id,
                            pid: pid.as_raw_nonzero().get(),
                        });
                    }
                    Err(error) => self.tell(&Event::SpawnFailed {
                        id,
                        error: error.to_string(),
                    }),
                }
            }
            Request::Signal { id, signal } => {
                let Some(signal) = Signal::from_named_raw(signal) else {
                    return;
                };
                if let Some(child) = self.children.values_mut().find(|c| c.id == id && c.alive) {
                    // The leader is not reaped yet (we reap it only once its group is empty),
                    // so its group id is still ours.
                    child.stop_asked = true;
                    let _ = rustix::process::kill_process_group(child.pid, signal);
                }
            }
        }
    }

    /// Notices leaders that ended and groups that emptied; reaps adopted orphans.
    ///
    /// An instance has stopped when its **process group** is gone, not when its leader
    /// exits: `sh -c "cd . && python3 srv.py"` loses its shell at once on SIGTERM while
    /// python drains. So a leader that ended is kept unreaped (holding the group's id) while
    /// anything of its group lives; its exit is reported once the group is empty. A stop the
    /// supervisor asked for is signalled once (by the supervisor, which SIGKILLs at its kill
    /// timeout); a leader that ended on its own gets what it left asked to stop, and
    /// killed (SIGKILL) at its kill timeout.
    fn reap(&mut self) {
        let me = rustix::process::getpid();
        let now = Instant::now();
        for child in self.children.values_mut().filter(|c| c.alive) {
            if child.leader_ended.is_none() {
                let options = rustix::process::WaitIdOptions::EXITED
                    | rustix::process::WaitIdOptions::NOHANG
                    | rustix::process::WaitIdOptions::NOWAIT;
                if let Ok(Some(status)) =
                    rustix::process::waitid(rustix::process::WaitId::Pid(child.pid), options)
                {
                    child.leader_ended = Some((status.exit_status(), status.terminating_signal()));
                    child.others = reaper::descendants(me)
                        .into_iter()
                        .filter(|pid| *pid != child.pid && !reaper::is_zombie(*pid))
                        .count();
                    if !child.stop_asked && group_members(child.pid) > 0 {
                        let _ = rustix::process::kill_process_group(child.pid, child.stop_signal);
                        child.kill_at = Some(now + child.kill_timeout);
                    }
                }
            }
            if child.leader_ended.is_some() {
                if child.kill_at.is_some_and(|at| at <= now) {
                    let _ = rustix::process::kill_process_group(child.pid, Signal::KILL);
                    child.kill_at = None;
                }
                if group_members(child.pid) == 0 {
                    child.alive = false;
                }
            }
        }
        // Leaders whose groups are empty: reaped and reported.
        let done: Vec<i32> = self
            .children
            .iter()
            .filter(|(_, c)| !c.alive)
            .map(|(pid, _)| *pid)
            .collect();
        for pid in done {
            let Some(child) = self.children.remove(&pid) else {
                continue;
            };
            let _ = rustix::process::waitpid(Some(child.pid), WaitOptions::NOHANG);
            let (code, signal) = child.leader_ended.unwrap_or((None, None));
            self.tell(&Event::Exited {
                id: child.id,
                code,
                signal,
                others: child.others,
            });
        }
        // Adopted orphans that ended (never a leader still holding its group's id).
        for pid in reaper::children_of(me) {
            let held = self.children.contains_key(&pid.as_raw_nonzero().get());
            if !held && reaper::is_zombie(pid) {
                let _ = rustix::process::waitpid(Some(pid), WaitOptions::NOHANG);
            }
        }
    }

    /// Whether an instance's leader has ended while its group lives on: the loop then wakes
    /// often to notice the group emptying (its members are not all our children).
    fn draining(&self) -> bool {
        self.children
            .values()
            .any(|c| c.alive && c.leader_ended.is_some())
    }

    /// The supervisor is gone: every live instance group gets its stop signal, then SIGKILL
    /// at the longest kill timeout, and every remaining descendant (daemons that left their
    /// group with `setsid` included) is ended and reaped.
    fn shut_down(&mut self) {
        let mut grace = Duration::ZERO;
        for child in self.children.values().filter(|c| c.alive) {
            let _ = rustix::process::kill_process_group(child.pid, child.stop_signal);
            grace = grace.max(child.kill_timeout);
        }
        // Descendants that left their instance's group (`setsid` daemons) get SIGTERM too,
        // and the same grace; members of the groups already have their signal.
        let groups: Vec<i32> = self
            .children
            .values()
            .map(|c| c.pid.as_raw_nonzero().get())
            .collect();
        for pid in reaper::descendants(rustix::process::getpid()) {
            if reaper::process_group_of(pid).is_some_and(|group| !groups.contains(&group)) {
                let _ = rustix::process::kill_process(pid, Signal::TERM);
                grace = grace.max(Duration::from_secs(1));
            }
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            reaper::reap_exited();
            if reaper::descendants(rustix::process::getpid()).is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for child in self.children.values() {
            let _ = rustix::process::kill_process_group(child.pid, Signal::KILL);
        }
        reaper::end_descendants(Duration::ZERO);
    }
}

#[cfg(test)]
mod tests;
