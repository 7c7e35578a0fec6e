//! File descriptors: running out of them told as that — never as an instance refusing.

use rustix::io::Errno;

/// The process, or the system, has no descriptor left for a new socket: the router's own
/// shortage, not an instance's doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Exhausted {
    #[error("too many open files (EMFILE: the router's RLIMIT_NOFILE is reached)")]
    Process,
    #[error("too many open files in the system (ENFILE)")]
    System,
}

impl Exhausted {
    /// Whether an I/O error is running out of descriptors.
    pub fn of(error: &std::io::Error) -> Option<Self> {
        match Errno::from_io_error(error)? {
            Errno::MFILE => Some(Self::Process),
            Errno::NFILE => Some(Self::System),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_descriptors_is_told_apart() {
        let emfile = std::io::Error::from_raw_os_error(Errno::MFILE.raw_os_error());
        assert_eq!(Exhausted::of(&emfile), Some(Exhausted::Process));
        assert!(
            Exhausted::Process
                .to_string()
                .contains("too many open files")
        );
        let refused = std::io::Error::from_raw_os_error(Errno::CONNREFUSED.raw_os_error());
        assert_eq!(Exhausted::of(&refused), None);
    }
}
