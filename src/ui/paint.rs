use std::io::IsTerminal;

/// `--color auto|always|never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// Applies ANSI styles, or nothing when colour is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint {
    enabled: bool,
}

impl Paint {
    pub const fn plain() -> Self {
        Self { enabled: false }
    }

    /// Colour for a stream: `always` wins over everything; `auto` needs a terminal and no
    /// (non-empty) `NO_COLOR`, as <https://no-color.org> asks.
    pub fn for_stream(choice: ColorChoice, stream: &impl IsTerminal) -> Self {
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                stream.is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
                    && std::env::var_os("TERM").is_none_or(|term| term != "dumb")
            }
        };
        Self { enabled }
    }

    pub fn enabled(self) -> bool {
        self.enabled
    }

    fn style(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn error(self, text: &str) -> String {
        self.style("1;31", text)
    }

    pub fn warning(self, text: &str) -> String {
        self.style("1;33", text)
    }

    pub fn bold(self, text: &str) -> String {
        self.style("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.style("2", text)
    }

    pub fn good(self, text: &str) -> String {
        self.style("32", text)
    }
}
