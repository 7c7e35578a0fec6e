//! Just enough of the shell to read Procfile commands: the simple commands of a command line
//! and the program each one runs. Words are split on whitespace, quotes kept: the rules look
//! for flags and program names, not arguments.

/// The program of each simple command in a shell command line: `a && b | c; d` gives a, b, c, d
/// with their arguments.
pub fn simple_commands(command: &str) -> Vec<Vec<&str>> {
    let mut commands = vec![Vec::new()];
    for word in command.split_whitespace() {
        if ["&&", "||", "|", ";", "&", "(", ")", "{", "}"].contains(&word) {
            commands.push(Vec::new());
            continue;
        }
        // A subshell's parentheses around its commands: `(x || cron) && y`.
        let opens = word.starts_with('(');
        let word = word.trim_start_matches('(');
        let word = if word.contains("$(") || word.contains('(') {
            word
        } else {
            word.trim_end_matches(')')
        };
        if opens {
            commands.push(Vec::new());
        }
        let last = commands.last_mut().expect("never empty");
        if let Some(stripped) = word.strip_suffix(';') {
            last.push(stripped);
            commands.push(Vec::new());
        } else {
            last.push(word);
        }
    }
    for command in &mut commands {
        // Leading VAR=value assignments and `exec`/`env` are not the program.
        while command
            .first()
            .is_some_and(|w| w.contains('=') && !w.starts_with('-') || *w == "exec" || *w == "env")
        {
            command.remove(0);
        }
    }
    commands.retain(|c| !c.is_empty());
    commands
}

/// Strips wrappers that run another command: `bundle exec`, `npx`, `python -m`, `./`.
pub fn unwrap_program<'a>(mut words: &'a [&'a str]) -> Vec<&'a str> {
    while let ["bundle", "exec", rest @ ..]
    | ["npx" | "pnpx" | "bunx" | "time" | "sudo", rest @ ..]
    | ["poetry" | "uv" | "pipenv" | "pdm", "run", rest @ ..]
    | ["python" | "python3", "-m", rest @ ..] = words
    {
        words = rest;
    }
    // `python manage.py collectstatic` is `manage.py collectstatic`.
    if let ["python" | "python3", script, ..] = words {
        if crate::audit::files::has_extension(script, &["py"]) {
            words = &words[1..];
        }
    }
    words
        .iter()
        .map(
            |w| match w.trim_start_matches("./").trim_start_matches("bin/") {
                "mvnw" => "mvn",
                "gradlew" => "gradle",
                other => other,
            },
        )
        .collect()
}

/// The last command of a shell list at its top level: what follows the last `&&`, `||`,
/// `;`, `|`, `&` or newline outside quotes, `$(…)`, `(…)` and backquotes. For
/// `a && exec b $(c && d)` it is `exec b $(c && d)`.
pub fn last_list_command(command: &str) -> &str {
    let bytes = command.as_bytes();
    let (mut single, mut double, mut backquote) = (false, false, false);
    let mut depth = 0_usize;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        match byte {
            b'\\' if !single => i += 1,
            b'\'' if !double && !backquote => single = !single,
            b'"' if !single => double = !double,
            b'`' if !single => backquote = !backquote,
            _ if single || double || backquote => {}
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b'&' | b'|' | b';' | b'\n' if depth == 0 => {
                // `&&` and `||` are one operator; `;;` ends a case arm.
                if bytes.get(i + 1) == Some(&byte) {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    // A line continued after the operator (`&& \\`) leaves its backslash before the command.
    command
        .get(start..)
        .unwrap_or("")
        .trim_start_matches(|c: char| c.is_whitespace() || c == '\\')
        .trim_end()
}

/// Whether a command `exec`s its program, after any `NAME=value` assignments before it
/// (`PHX_SERVER=true exec ./app start`).
pub fn execs(command: &str) -> bool {
    command.split_whitespace().find(|word| {
        !word.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
    }) == Some("exec")
}

/// A line that only assigns a plain value to a shell variable (`NAME=value`,
/// `export NAME="value"`): the name and the value, unquoted. A value that substitutes a
/// command or another variable is not plain.
pub fn assignment(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
    let (name, value) = line.split_once('=')?;
    let plain_name = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value);
    let plain_value = !value.is_empty()
        && !value.contains(['$', '`', ' ', '\t', ';', '&', '|', '(', '"', '\''])
        && !value.is_empty();
    (plain_name && plain_value).then(|| (name.to_owned(), value.to_owned()))
}

/// The line with `$NAME` and `${NAME}` replaced by the values `assignment` read before it;
/// the last assignment of a name wins, and a name never assigned is left as it is.
pub fn expand(line: &str, variables: &[(String, String)]) -> String {
    if !line.contains('$') || variables.is_empty() {
        return line.to_owned();
    }
    let mut out = line.to_owned();
    for (name, value) in variables.iter().rev() {
        out = out.replace(&format!("${{{name}}}"), value);
        // `$NAME` only where the name ends: `$APP` is not the start of `$APP_DIR`.
        let plain = format!("${name}");
        let mut expanded = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find(&plain) {
            let after = &rest[at + plain.len()..];
            expanded.push_str(&rest[..at]);
            if after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                expanded.push_str(&plain);
            } else {
                expanded.push_str(value);
            }
            rest = after;
        }
        expanded.push_str(rest);
        out = expanded;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_a_script_assigns() {
        let vars = vec![
            assignment("PRE_START_PATH=deploy/docker/prestart.sh").unwrap(),
            assignment("export APP=\"/app\"").unwrap(),
        ];
        assert_eq!(vars[1], ("APP".to_owned(), "/app".to_owned()));
        assert_eq!(
            expand(". $PRE_START_PATH", &vars),
            ". deploy/docker/prestart.sh"
        );
        assert_eq!(expand("${APP}/run $APP_DIR", &vars), "/app/run $APP_DIR");
        assert!(assignment("X=$(date)").is_none());
        assert!(assignment("if [ x = y ]; then").is_none());
        assert!(assignment("A=b c").is_none());
    }

    #[test]
    fn exec_after_assignments() {
        assert!(execs("exec gunicorn app"));
        assert!(execs("PHX_SERVER=true exec ./realtime start"));
        assert!(!execs("PHX_SERVER=true ./realtime start"));
        assert!(!execs("gunicorn --exec x"));
    }

    #[test]
    fn last_list_command_at_the_top_level() {
        assert_eq!(last_list_command("a && exec b"), "exec b");
        assert_eq!(
            last_list_command(
                "(x || cron) && \\\n . env && \\\n exec apache2 $([ -n \"$A\" ] && echo '-D A')"
            ),
            "exec apache2 $([ -n \"$A\" ] && echo '-D A')"
        );
        assert_eq!(last_list_command("echo 'a; b'"), "echo 'a; b'");
        assert_eq!(last_list_command("node app.js | tee log"), "tee log");
        assert_eq!(last_list_command("worker &"), "");
    }

    #[test]
    fn simple_commands_split_on_operators() {
        assert_eq!(
            simple_commands("PORT=1 exec npm run build && node server.js; echo done | tee x"),
            [
                vec!["npm", "run", "build"],
                vec!["node", "server.js"],
                vec!["echo", "done"],
                vec!["tee", "x"]
            ]
        );
        assert_eq!(simple_commands("a & "), [vec!["a"]]);
    }
}
