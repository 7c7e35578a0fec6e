//! How output lines look: `HH:MM:SS web.1  | line` (text) or one JSON object per line.

use super::lines::Line;

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

pub use crate::logs::line::{ROUTER_NAME, SYSTEM_NAME, Stream};

/// foreman's palette: one colour per process type, in Procfile order.
const COLORS: [&str; 6] = ["36", "33", "32", "35", "34", "31"];

#[derive(Debug, Clone)]
pub struct Formatter {
    format: LogFormat,
    timestamps: bool,
    color: bool,
    /// Whether text lines go to a terminal: an app's control sequences but colours are then
    /// shown, not acted on (`crate::ui::terminal::neutralise`).
    terminal: bool,
    width: usize,
    clock: Clock,
}

/// Who a line belongs to: its name and its precomputed text prefix.
#[derive(Debug, Clone)]
pub struct Label {
    pub name: std::sync::Arc<str>,
    prefix: Vec<u8>,
    prefix_end: Vec<u8>,
}

impl Formatter {
    /// `width` is the longest name that will be shown (padding keeps the bars aligned).
    pub fn new(format: LogFormat, timestamps: bool, color: bool, width: usize) -> Self {
        Self {
            format,
            timestamps,
            color,
            terminal: false,
            width: width.max(SYSTEM_NAME.len()),
            clock: Clock::new(),
        }
    }

    /// Text lines for a terminal: see [`Formatter::terminal`](Self).
    #[must_use]
    pub fn for_terminal(mut self, terminal: bool) -> Self {
        self.terminal = terminal;
        self
    }

    /// The label of an instance of the type at `type_index` in the Procfile.
    pub fn label(&self, name: &str, type_index: usize) -> Label {
        let color = self.color.then(|| COLORS[type_index % COLORS.len()]);
        self.make_label(name, color)
    }

    pub fn system_label(&self) -> Label {
        self.make_label(SYSTEM_NAME, self.color.then_some("1"))
    }

    pub fn router_label(&self) -> Label {
        self.make_label(ROUTER_NAME, self.color.then_some("1;34"))
    }

    fn make_label(&self, name: &str, color: Option<&str>) -> Label {
        let padded = format!("{name:<width$} |", width = self.width);
        let (prefix, prefix_end) = match color {
            Some(code) => (format!("\x1b[{code}m"), format!("{padded}\x1b[0m ")),
            None => (String::new(), format!("{padded} ")),
        };
        Label {
            name: std::sync::Arc::from(name),
            prefix: prefix.into_bytes(),
            prefix_end: prefix_end.into_bytes(),
        }
    }

    /// Appends one formatted line to `out`.
    pub fn line(&mut self, out: &mut Vec<u8>, label: &Label, stream: Stream, line: Line<'_>) {
        match self.format {
            LogFormat::Text => {
                out.extend_from_slice(&label.prefix);
                if self.timestamps {
                    out.extend_from_slice(self.clock.local_hms());
                    out.push(b' ');
                }
                out.extend_from_slice(&label.prefix_end);
                if self.terminal {
                    out.extend_from_slice(&crate::ui::terminal::neutralise(line.bytes));
                } else {
                    out.extend_from_slice(line.bytes);
                }
                out.push(b'\n');
            }
            LogFormat::Json => crate::logs::line::write_json(
                out,
                &self.clock.now,
                &label.name,
                stream,
                line.bytes,
                line.continued,
            ),
        }
    }

    /// Reads the clock once for a batch of lines (timestamps are to the second in text).
    pub fn tick(&mut self) {
        self.clock.tick();
    }

    /// The time the last [`Formatter::tick`] read.
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now
    }

    /// Formats the next lines as written at `ts` (for lines read back, as `dozen logs` does).
    pub fn at(&mut self, ts: jiff::Timestamp) {
        self.clock.set(ts);
    }
}

/// The time, read once per batch, formatted once per second.
#[derive(Debug, Clone)]
struct Clock {
    zone: jiff::tz::TimeZone,
    now: jiff::Timestamp,
    second: i64,
    hms: [u8; 8],
}

impl Clock {
    fn new() -> Self {
        let mut clock = Self {
            zone: jiff::tz::TimeZone::system(),
            now: jiff::Timestamp::now(),
            second: i64::MIN,
            hms: *b"00:00:00",
        };
        clock.tick();
        clock
    }

    fn tick(&mut self) {
        self.set(jiff::Timestamp::now());
    }

    fn set(&mut self, now: jiff::Timestamp) {
        self.now = now;
        let second = self.now.as_second();
        if second != self.second {
            self.second = second;
            let time = self.zone.to_datetime(self.now).time();
            let text = format!(
                "{:02}:{:02}:{:02}",
                time.hour(),
                time.minute(),
                time.second()
            );
            self.hms.copy_from_slice(text.as_bytes());
        }
    }

    fn local_hms(&self) -> &[u8] {
        &self.hms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(formatter: &mut Formatter, label: &Label, stream: Stream, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        formatter.line(
            &mut out,
            label,
            stream,
            Line {
                bytes,
                continued: false,
            },
        );
        out
    }

    #[test]
    fn text_lines_are_padded_and_raw() {
        let mut f = Formatter::new(LogFormat::Text, false, false, 8);
        let label = f.label("web.1", 0);
        assert_eq!(
            render(&mut f, &label, Stream::Stdout, b"hello \xff"),
            b"web.1    | hello \xff\n"
        );
        let system = f.system_label();
        assert_eq!(
            render(&mut f, &system, Stream::System, b"web.1 started"),
            b"dozen    | web.1 started\n"
        );
    }

    /// On a terminal an app's line keeps its colours and cannot retitle the window, clear
    /// the screen or write over the prefix; piped, it is passed on whole (issue 31, finding 21).
    #[test]
    fn on_a_terminal_only_colours_act() {
        let line = b"\x1b]0;PWNED\x07\x1b[2J\rover \x1b[31mred\x1b[0m";
        let mut f = Formatter::new(LogFormat::Text, false, false, 5).for_terminal(true);
        let label = f.label("web.1", 0);
        assert_eq!(
            String::from_utf8(render(&mut f, &label, Stream::Stdout, line)).unwrap(),
            "web.1 | ␛]0;PWNED␇␛[2J␍over \x1b[31mred\x1b[0m\x1b[0m\n"
        );
        let mut piped = Formatter::new(LogFormat::Text, false, false, 5);
        let out = render(&mut piped, &label, Stream::Stdout, line);
        assert_eq!(&out[8..out.len() - 1], line);
    }

    #[test]
    fn timestamps_and_colour() {
        let mut f = Formatter::new(LogFormat::Text, true, true, 5);
        let label = f.label("web.1", 1);
        let out = String::from_utf8(render(&mut f, &label, Stream::Stdout, b"x")).unwrap();
        assert!(out.starts_with("\x1b[33m"), "{out:?}");
        assert_eq!(
            out.len(),
            "\x1b[33m".len() + "HH:MM:SS ".len() + "web.1 |\x1b[0m x\n".len()
        );
        assert_eq!(&out[14..], "web.1 |\x1b[0m x\n");
    }

    #[test]
    fn json_lines() {
        let mut f = Formatter::new(LogFormat::Json, true, true, 5);
        let label = f.label("web.1", 0);
        let out = render(&mut f, &label, Stream::Stderr, b"caf\xc3\xa9 \"q\" \xff");
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["process"], "web.1");
        assert_eq!(value["stream"], "stderr");
        assert_eq!(value["line"], "café \"q\" \u{fffd}");
        assert!(value["ts"].as_str().unwrap().ends_with('Z'));
        assert!(out.ends_with(b"}\n"));
    }
}
