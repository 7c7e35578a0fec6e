//! Spring Boot's config as the properties it sets: `application.properties`' `key=value` lines
//! and `application.yml`'s nested keys flattened to the same dotted names, so a rule asks for
//! `spring.sql.init.mode` whichever form the app wrote it in.

/// One property a config file sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The dotted name, lower-cased with `_` and `-` kept (`spring.jpa.hibernate.ddl-auto`).
    pub key: String,
    /// The key as written on its line (`logging.file.name` flat, `name` nested under
    /// `logging:` and `file:`), lower-cased.
    pub written: String,
    /// The value as written, quotes removed.
    pub value: String,
    /// 1-based.
    pub line: usize,
}

impl Property {
    /// The value production gets when nothing overrides it: a placeholder's default
    /// (`${DDL_AUTO:update}` is `update`), else the value itself.
    pub fn effective(&self) -> &str {
        let value = self.value.trim();
        if let Some(inner) = value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
            return inner
                .split_once(':')
                .map_or("", |(_, default)| default.trim());
        }
        value
    }
}

/// Whether a Spring config file is YAML (`application.yml`), not properties, by its name.
fn is_yaml(path: &str) -> bool {
    crate::audit::files::has_extension(path, &["yml", "yaml"])
}

/// The properties a Spring config file sets, in file order.
pub fn properties(path: &str, text: &str) -> Vec<Property> {
    if is_yaml(path) {
        yaml_properties(text)
    } else {
        properties_file(text)
    }
}

fn unquote(value: &str) -> String {
    let value = value.trim();
    let unquoted = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value);
    unquoted.to_owned()
}

/// `key=value` and `key: value` lines; `#` and `!` start comments.
fn properties_file(text: &str) -> Vec<Property> {
    text.lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                return None;
            }
            let split = line.find(['=', ':'])?;
            let key = line[..split].trim();
            (!key.is_empty()).then(|| Property {
                key: key.to_ascii_lowercase(),
                written: key.to_ascii_lowercase(),
                value: unquote(&line[split + 1..]),
                line: index + 1,
            })
        })
        .collect()
}

/// Block-style YAML mappings flattened by indentation; documents (`---`) start over, list
/// items and flow collections are not properties.
fn yaml_properties(text: &str) -> Vec<Property> {
    let mut out = Vec::new();
    // (indentation, key) of the mappings the current line is inside.
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("---") {
            stack.clear();
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('-') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let Some((key, rest)) = trimmed.split_once(':') else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
            continue;
        }
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let key = unquote(key).to_ascii_lowercase();
        let value = rest.split(" #").next().unwrap_or("").trim();
        if value.is_empty() {
            stack.push((indent, key));
            continue;
        }
        let mut dotted: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
        dotted.push(&key);
        out.push(Property {
            key: dotted.join("."),
            written: key.clone(),
            value: unquote(value),
            line: index + 1,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(path: &str, text: &str) -> Vec<(String, String, usize)> {
        properties(path, text)
            .into_iter()
            .map(|p| {
                let effective = p.effective().to_owned();
                (p.key, effective, p.line)
            })
            .collect()
    }

    #[test]
    fn yaml_flattens_nested_keys_and_documents() {
        let text = "spring:\n  sql:\n    init:\n      mode: always # every start\n  jpa:\n    hibernate:\n      ddl-auto: ${DDL:update}\nlogging:\n  file:\n    name: \"logs/app.log\"\n  level:\n    - x: y\n---\nserver:\n  port: 8080\n";
        assert_eq!(
            keys("application.yml", text),
            [
                ("spring.sql.init.mode".to_owned(), "always".to_owned(), 4),
                (
                    "spring.jpa.hibernate.ddl-auto".to_owned(),
                    "update".to_owned(),
                    7
                ),
                (
                    "logging.file.name".to_owned(),
                    "logs/app.log".to_owned(),
                    10
                ),
                ("server.port".to_owned(), "8080".to_owned(), 15),
            ]
        );
    }

    #[test]
    fn the_key_as_written_on_its_line() {
        let written = |path: &str, text: &str| -> Vec<String> {
            properties(path, text)
                .into_iter()
                .map(|p| p.written)
                .collect()
        };
        assert_eq!(
            written(
                "application.yml",
                "logging:\n  file.name: a.log\nlogging.file.path: /var/log\n"
            ),
            ["file.name", "logging.file.path"]
        );
        assert_eq!(
            written("application.properties", "logging.file.name=a.log\n"),
            ["logging.file.name"]
        );
    }

    #[test]
    fn properties_lines_and_placeholders() {
        let text = "# comment\nspring.sql.init.mode=always\nlogging.file.path: /var/log\nserver.port=${PORT:8080}\nempty=${NOTHING}\n";
        assert_eq!(
            keys("application.properties", text),
            [
                ("spring.sql.init.mode".to_owned(), "always".to_owned(), 2),
                ("logging.file.path".to_owned(), "/var/log".to_owned(), 3),
                ("server.port".to_owned(), "8080".to_owned(), 4),
                ("empty".to_owned(), String::new(), 5),
            ]
        );
    }
}
