//! Pseudo-terminals for `tty = true` types: programs that only line-buffer (or only print at
//! all) on a terminal get one as stdout and stderr.

use std::os::fd::OwnedFd;

use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;
use rustix::termios::Winsize;

/// A pseudo-terminal pair: dozen reads the controller, the process writes to the other end.
pub struct Pty {
    pub controller: OwnedFd,
    pub terminal: OwnedFd,
}

impl Pty {
    /// Opens a pair sized like dozen's own terminal, else 80 × 24.
    pub fn open() -> std::io::Result<Self> {
        let controller =
            rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
        rustix::pty::grantpt(&controller)?;
        rustix::pty::unlockpt(&controller)?;
        let name = rustix::pty::ptsname(&controller, Vec::new())?;
        let terminal = rustix::fs::open(
            name.as_c_str(),
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let size = rustix::termios::tcgetwinsize(std::io::stdout())
            .ok()
            .filter(|s| s.ws_col > 0)
            .unwrap_or(Winsize {
                ws_row: 24,
                ws_col: 80,
                ws_xpixel: 0,
                ws_ypixel: 0,
            });
        let _ = rustix::termios::tcsetwinsize(&terminal, size);
        Ok(Self {
            controller,
            terminal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};

    #[test]
    fn the_other_end_is_a_terminal_and_newlines_come_back_as_crlf() {
        let pty = Pty::open().unwrap();
        assert!(rustix::termios::isatty(&pty.terminal));
        let mut terminal = std::fs::File::from(pty.terminal);
        terminal.write_all(b"hello\n").unwrap();
        let mut controller = std::fs::File::from(pty.controller);
        let mut buf = [0u8; 16];
        let n = controller.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello\r\n");
    }
}
