//! Just enough of the shell to read Procfile commands: the simple commands of a command line
//! and the program each one runs. Words are split on whitespace, quotes kept: the rules look
//! for flags and program names, not arguments.

/// The program of each simple command in a shell command line: `a && b | c; d` gives a, b, c, d
/// with their arguments.
pub fn simple_commands(command: &str) -> Vec<Vec<&str>> {
    let mut commands = vec![Vec::new()];
    for word in command.split_whitespace() {
        if ["&&", "||", "|", ";", "&"].contains(&word) {
            commands.push(Vec::new());
            continue;
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

#[cfg(test)]
mod tests {
    use super::*;

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
