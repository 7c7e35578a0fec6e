//! Text from someone else (an app's output, a registry's error) made safe for a terminal: a
//! control sequence in it could retitle the window, clear the screen, move the cursor over
//! dozen's own prefix or answer back into the shell's input.
//!
//! - [`printable`]: every control character shown as an escape (`\u{1b}`), for text quoted
//!   in a message.
//! - [`neutralise`]: an app's line as a terminal should show it. Colours and styles (SGR,
//!   `ESC [ … m`) are kept, as foreman, overmind and pm2 keep them; every other escape
//!   sequence and control character is shown as its Unicode control picture (`␛`, `␍`), so
//!   nothing is lost and nothing acts.

use std::borrow::Cow;

/// `text` with every control character (C0 but tab, DEL, C1) shown as `\u{…}`.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_control(c: char) -> bool {
    c != '\t' && c.is_control()
}

/// An app's line for a terminal: SGR sequences kept (and reset at the line's end), every
/// other control character shown as a picture (the sequence after it then prints as plain
/// text). Bytes that are not
/// UTF-8 pass unchanged but for the C1 range's lead (`0xC2 0x80`–`0x9F` is a C1 control).
pub fn neutralise(line: &[u8]) -> Cow<'_, [u8]> {
    if !line
        .iter()
        .any(|&b| b < 0x20 && b != b'\t' || b == 0x7f || b == 0xc2)
    {
        return Cow::Borrowed(line);
    }
    let mut out = Vec::with_capacity(line.len() + 16);
    let mut styled = false;
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b == 0x1b {
            if let Some(end) = sgr_end(&line[i..]) {
                out.extend_from_slice(&line[i..i + end]);
                styled = true;
                i += end;
                continue;
            }
            out.extend_from_slice("␛".as_bytes());
        } else if b == 0x7f {
            out.extend_from_slice("␡".as_bytes());
        } else if b < 0x20 && b != b'\t' {
            // U+2400 + b: ␀ … ␟.
            let picture = char::from_u32(0x2400 + u32::from(b)).expect("a control picture");
            let mut buf = [0u8; 4];
            out.extend_from_slice(picture.encode_utf8(&mut buf).as_bytes());
        } else if b == 0xc2 && line.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)) {
            // A C1 control (CSI is U+009B): shown as its code.
            out.extend_from_slice(format!("\\u{{{:x}}}", line[i + 1]).as_bytes());
            i += 2;
            continue;
        } else {
            out.push(b);
        }
        i += 1;
    }
    // A style the app never turned off ends with its line: it would colour, blink or hide
    // the next line's prefix, other processes' lines, and the shell after dozen.
    if styled {
        out.extend_from_slice(b"\x1b[0m");
    }
    Cow::Owned(out)
}

/// An app's line as one line of dozen's own (a spinner's message): every control character,
/// colours' too, shown as its picture.
pub fn pictured(line: &str) -> String {
    line.chars()
        .map(|c| match u32::from(c) {
            n @ 0..0x20 if c != '\t' => char::from_u32(0x2400 + n).unwrap_or('?'),
            0x7f => '␡',
            0x80..0xa0 => '?',
            _ => c,
        })
        .collect()
}

/// An app's line (a build step's, a release phase's) for dozen's stderr: neutralised when
/// stderr is a terminal, as it is.
pub fn on_stderr(line: &str) -> Cow<'_, str> {
    static TERMINAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*TERMINAL.get_or_init(|| std::io::IsTerminal::is_terminal(&std::io::stderr())) {
        return Cow::Borrowed(line);
    }
    match neutralise(line.as_bytes()) {
        Cow::Borrowed(_) => Cow::Borrowed(line),
        // Only ASCII controls were replaced by pictures: still UTF-8.
        Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

/// The length of the SGR sequence at the start of `bytes` (`ESC [`, parameters of digits,
/// `;` and `:`, then `m`), if one is.
/// An app's line for a screen dozen draws itself (`dozen top`): as [`neutralise`] shows it,
/// without its styles, tabs as a space each.
pub fn unstyled(line: &[u8]) -> String {
    let shown = neutralise(line);
    let mut out = Vec::with_capacity(shown.len());
    let mut i = 0;
    while i < shown.len() {
        if let Some(end) = sgr_end(&shown[i..]) {
            i += end;
            continue;
        }
        out.push(if shown[i] == b'\t' { b' ' } else { shown[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn sgr_end(bytes: &[u8]) -> Option<usize> {
    let rest = bytes.strip_prefix(b"\x1b[")?;
    let params = rest
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b';' || **b == b':')
        .count();
    (rest.get(params) == Some(&b'm') && params <= 64).then_some(2 + params + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(line: &[u8]) -> String {
        String::from_utf8(neutralise(line).into_owned()).unwrap()
    }

    #[test]
    fn unstyled_lines_keep_their_text_and_nothing_that_acts() {
        assert_eq!(
            unstyled(b"\x1b[1;31mred\x1b[0m\tx \x1b]0;title\x07 \r"),
            "red x ␛]0;title␇ ␍"
        );
        assert_eq!(unstyled(b"caf\xc3\xa9"), "café");
    }

    #[test]
    fn colours_are_kept_and_nothing_else_acts() {
        assert_eq!(shown(b"plain\ttext"), "plain\ttext");
        assert_eq!(
            shown(b"\x1b[1;31mred\x1b[0m \x1b[38:5:208mx\x1b[m"),
            "\x1b[1;31mred\x1b[0m \x1b[38:5:208mx\x1b[m\x1b[0m"
        );
        // A style left on (hidden text, here) ends with the line.
        assert_eq!(
            shown(b"start \x1b[41;8mLEAK"),
            "start \x1b[41;8mLEAK\x1b[0m"
        );
        // A window title, a screen clear, a cursor move, a carriage return, a bell.
        assert_eq!(shown(b"\x1b]0;PWNED\x07"), "␛]0;PWNED␇");
        assert_eq!(shown(b"\x1b[2J\x1b[H"), "␛[2J␛[H");
        assert_eq!(shown(b"progress\rover"), "progress␍over");
        assert_eq!(shown(b"\x1b"), "␛");
        assert_eq!(shown(b"\x1b[31"), "␛[31");
        assert_eq!(shown(b"del\x7f"), "del␡");
        // CSI as a C1 character, in UTF-8.
        assert_eq!(shown("a\u{9b}2Jb".as_bytes()), "a\\u{9b}2Jb");
        // Text that merely has 0xC2 in it (Â, ©) is text.
        assert_eq!(shown("© Â".as_bytes()), "© Â");
        // Not UTF-8: passed on as it is.
        assert_eq!(neutralise(b"\xff\xfe").as_ref(), b"\xff\xfe");
    }

    #[test]
    fn pictured_lines_act_on_nothing() {
        assert_eq!(pictured("a\x1b[31mb\rc\u{9b}\x7f\td"), "a␛[31mb␍c?␡\td");
    }

    #[test]
    fn printable_escapes_every_control() {
        assert_eq!(printable("fine"), "fine");
        assert_eq!(
            printable("HTTP 404: \x1b]0;PWNED\x07\x1b[2J"),
            "HTTP 404: \\u{1b}]0;PWNED\\u{7}\\u{1b}[2J"
        );
        assert_eq!(printable("a\tb\u{9b}"), "a\tb\\u{9b}");
    }
}
