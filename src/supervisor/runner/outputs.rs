//! An instance's pipes (or pseudo-terminal), for the runner's spawns.

/// An instance's output: the ends dozen reads and the ends the process is given.
pub(super) struct Outputs {
    /// None when the output is discarded.
    pub(super) stdout: Option<std::os::fd::OwnedFd>,
    pub(super) stderr: Option<std::os::fd::OwnedFd>,
    pub(super) given: Vec<std::os::fd::OwnedFd>,
    /// A pseudo-terminal turns `\n` into `\r\n`; the `\r` is dropped again.
    pub(super) strip_cr: bool,
}

impl Outputs {
    /// `/dev/null` for both: a health-check command's output is not the app's.
    pub(super) fn discard() -> std::io::Result<Self> {
        let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
        Ok(Self {
            stdout: None,
            stderr: None,
            given: vec![null.try_clone()?.into(), null.into()],
            strip_cr: false,
        })
    }

    /// Two pipes (stdout and stderr kept apart), or one pseudo-terminal for both.
    pub(super) fn open(tty: bool) -> std::io::Result<Self> {
        if tty {
            let pty = crate::supervisor::pty::Pty::open()?;
            return Ok(Self {
                stdout: Some(pty.controller),
                stderr: None,
                given: vec![pty.terminal],
                strip_cr: true,
            });
        }
        let (out_read, out_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        let (err_read, err_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        Ok(Self {
            stdout: Some(out_read),
            stderr: Some(err_read),
            given: vec![out_write, err_write],
            strip_cr: false,
        })
    }
}
