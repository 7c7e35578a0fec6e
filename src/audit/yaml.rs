//! YAML as the audit's deployment model reads it (Compose files, Kubernetes manifests,
//! `heroku.yml`, `render.yaml`): a tree of scalars, sequences and mappings, each node with its
//! line. Built from `yaml-rust2`'s events so that aliases are never expanded (a file of
//! nested aliases cannot cost more than its own size) and the tree has a node budget.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// At most this many nodes a file; past it the file is not read (no deployment file is
/// near it).
const MAX_NODES: usize = 200_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A scalar as written (`null`, `~` and an alias are the empty string).
    Scalar(String),
    Seq(Vec<Node>),
    /// Keys that are scalars, in file order (other keys are skipped).
    Map(Vec<(String, Node)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// 1-based.
    pub line: usize,
    pub value: Value,
}

impl Node {
    /// The value of `key` when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(String, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// A command as Compose and Kubernetes write it: a string, or a list of arguments
    /// (joined with spaces).
    pub fn command(&self) -> Option<String> {
        match &self.value {
            Value::Scalar(s) if !s.is_empty() => Some(s.clone()),
            Value::Seq(items) if !items.is_empty() => Some(
                items
                    .iter()
                    .filter_map(Node::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => None,
        }
    }
}

/// What a mapping expects next: a key, or the value of the key read (`None`: a key that is
/// not a scalar, whose value is skipped).
enum Next {
    Key,
    Value(Option<String>),
}

enum Frame {
    Seq(usize, Vec<Node>),
    Map(usize, Vec<(String, Node)>, Next),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    documents: Vec<Node>,
    nodes: usize,
    over: bool,
}

impl Builder {
    fn push(&mut self, node: Node) {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            self.over = true;
            return;
        }
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Frame::Seq(_, items)) => items.push(node),
            Some(Frame::Map(_, entries, next)) => match std::mem::replace(next, Next::Key) {
                Next::Key => {
                    *next = Next::Value(match node.value {
                        Value::Scalar(key) => Some(key),
                        _ => None,
                    });
                }
                Next::Value(Some(key)) => entries.push((key, node)),
                Next::Value(None) => {}
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.over {
            return;
        }
        let line = mark.line().max(1);
        match event {
            Event::Scalar(text, ..) => {
                let text = if text == "~" || text == "null" {
                    String::new()
                } else {
                    text
                };
                self.push(Node {
                    line,
                    value: Value::Scalar(text),
                });
            }
            Event::Alias(_) => self.push(Node {
                line,
                value: Value::Scalar(String::new()),
            }),
            Event::SequenceStart(..) => self.stack.push(Frame::Seq(line, Vec::new())),
            Event::MappingStart(..) => self.stack.push(Frame::Map(line, Vec::new(), Next::Key)),
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Frame::Seq(line, items)) => Node {
                        line,
                        value: Value::Seq(items),
                    },
                    Some(Frame::Map(line, entries, _)) => Node {
                        line,
                        value: Value::Map(entries),
                    },
                    None => return,
                };
                self.push(node);
            }
            _ => {}
        }
    }
}

/// The documents of a YAML stream, or `None` when it does not parse (a Helm template, say)
/// or is larger than the node budget.
pub fn parse(text: &str) -> Option<Vec<Node>> {
    let mut builder = Builder::default();
    Parser::new_from_str(text).load(&mut builder, true).ok()?;
    (!builder.over).then_some(builder.documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn located_tree_without_expanding_aliases() {
        use std::fmt::Write as _;
        let docs = parse(
            "services:\n  web:\n    command: [\"gunicorn\", \"app:app\"]\n  db:\n    image: postgres:16\n---\nkind: Deployment\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        let web = docs[0].get("services").unwrap().get("web").unwrap();
        assert_eq!(
            web.get("command").unwrap().command().unwrap(),
            "gunicorn app:app"
        );
        assert_eq!(web.get("command").unwrap().line, 3);
        assert_eq!(
            docs[0].get("services").unwrap().entries()[1]
                .1
                .get("image")
                .unwrap()
                .line,
            5
        );
        assert_eq!(docs[1].get("kind").unwrap().as_str(), Some("Deployment"));
        // A billion laughs: every alias is one empty node.
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..30 {
            let _ = writeln!(
                bomb,
                "b{i}: &b{i} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]",
                p = if i == 1 {
                    "a".to_owned()
                } else {
                    format!("b{}", i - 1)
                }
            );
        }
        let docs = parse(&bomb).unwrap();
        assert_eq!(docs[0].entries().len(), 30);
        assert!(parse("{{ .Values.x }}: [").is_none());
    }
}
