//! A process's line of `/proc/PID/stat`, read with a bound and split after its command name
//! (which may hold `)` and spaces): what the supervisor (parents, groups, zombies), the store
//! (a record's owner, by start time) and the usage sampler (CPU ticks, resident pages) read
//! of a process (proc(5)).

/// The most of a `stat` file read: its line is a few hundred bytes (a command name is at most
/// 64 of them).
const MAX_STAT: usize = 1024;

/// The fields of a `stat` line after the command name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// From field 3 (the state) on.
    rest: String,
}

impl Stat {
    /// A `stat` line's fields; `None` when it has no command name.
    pub fn parse(line: &str) -> Option<Self> {
        Some(Self {
            rest: line[line.rfind(')')? + 1..].to_owned(),
        })
    }

    /// Process `pid`'s line, bounded; `None` when it has gone (or cannot be read).
    pub fn read(pid: i32) -> Option<Self> {
        use std::io::Read as _;
        let mut buf = [0u8; MAX_STAT];
        let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
        let mut len = 0;
        while len < buf.len() {
            match file.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(_) => return None,
            }
        }
        Self::parse(std::str::from_utf8(&buf[..len]).ok()?)
    }

    /// Field `n`, numbered as proc(5) numbers them (from 1, the pid).
    fn field(&self, n: usize) -> Option<&str> {
        self.rest.split_ascii_whitespace().nth(n.checked_sub(3)?)
    }

    fn number<T: std::str::FromStr>(&self, n: usize) -> Option<T> {
        self.field(n)?.parse().ok()
    }

    /// Ended and waiting to be reaped (`Z`), or dead (`X`).
    pub fn is_zombie(&self) -> bool {
        matches!(self.field(3), Some("Z" | "X" | "x"))
    }

    pub fn parent(&self) -> Option<i32> {
        self.number(4)
    }

    /// The process group.
    pub fn group(&self) -> Option<i32> {
        self.number(5)
    }

    /// User and system time, in clock ticks.
    pub fn ticks(&self) -> Option<u64> {
        self.number::<u64>(14)?.checked_add(self.number(15)?)
    }

    /// When it started, in clock ticks since boot.
    pub fn start_time(&self) -> Option<u64> {
        self.number(22)
    }

    /// Resident pages.
    pub fn rss_pages(&self) -> Option<u64> {
        self.number(24)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_counted_after_a_command_name_that_holds_parentheses_and_spaces() {
        let line = "4242 (we) ird (na)me) S 1 4240 4240 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 123 1000000 300 18446744073709551615";
        let stat = Stat::parse(line).unwrap();
        assert_eq!(stat.parent(), Some(1));
        assert_eq!(stat.group(), Some(4240));
        assert_eq!(stat.ticks(), Some(300));
        assert_eq!(stat.start_time(), Some(123));
        assert_eq!(stat.rss_pages(), Some(300));
        assert!(!stat.is_zombie());
        let short = Stat::parse("4242 (x) Z 1").unwrap();
        assert!(short.is_zombie());
        assert_eq!((short.parent(), short.group()), (Some(1), None));
        assert_eq!(Stat::parse("no name"), None);
    }

    #[test]
    fn this_process_reads() {
        let stat = Stat::read(i32::try_from(std::process::id()).unwrap()).unwrap();
        assert!(stat.start_time().is_some() && stat.group().is_some() && !stat.is_zombie());
        assert_eq!(Stat::read(i32::MAX), None);
    }
}
