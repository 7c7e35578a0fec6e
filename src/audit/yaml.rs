//! YAML as the audit's deployment model reads it (Compose files, Kubernetes manifests,
//! `heroku.yml`, `render.yaml`): a tree of scalars, sequences and mappings, each node with its
//! line. Built from `yaml-rust2`'s events so that aliases are never expanded (a file of
//! nested aliases cannot cost more than its own size) and the tree has a node budget. The one
//! use of aliases Compose files depend on is read: a merge key (`<<: *base`, `<<: [*a, *b]`)
//! gives the mapping the anchored mapping's keys it does not set itself, every copied node
//! counted against the same budget.

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

/// A mapping being read: its line, anchor, entries, what comes next, and the entries merge
/// keys gave it.
struct MapFrame {
    line: usize,
    anchor: usize,
    entries: Vec<(String, Node)>,
    next: Next,
    merged: Vec<(String, Node)>,
}

enum Frame {
    Seq(usize, usize, Vec<Node>),
    Map(MapFrame),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    documents: Vec<Node>,
    /// Anchored mappings by anchor id, for merge keys.
    anchors: std::collections::HashMap<usize, Node>,
    nodes: usize,
    over: bool,
}

/// How many nodes a tree holds.
fn count(node: &Node) -> usize {
    1 + match &node.value {
        Value::Scalar(_) => 0,
        Value::Seq(items) => items.iter().map(count).sum(),
        Value::Map(entries) => entries.iter().map(|(_, v)| count(v)).sum(),
    }
}

impl Builder {
    /// Counts `n` more nodes against the budget; false once it is spent.
    fn spend(&mut self, n: usize) -> bool {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            self.over = true;
        }
        !self.over
    }

    /// Whether the node being read now is the value of a merge key (or an item of one).
    fn in_merge(&self) -> bool {
        let expects_merge = |frame: Option<&Frame>| matches!(frame, Some(Frame::Map(MapFrame { next: Next::Value(Some(key)), .. })) if key == "<<");
        match self.stack.last() {
            Some(Frame::Seq(..)) => expects_merge(self.stack.iter().rev().nth(1)),
            top => expects_merge(top),
        }
    }

    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor > 0 && matches!(node.value, Value::Map(_)) {
            if !self.spend(count(&node)) {
                return;
            }
            self.anchors.insert(anchor, node.clone());
        }
        self.push(node);
    }

    fn push(&mut self, node: Node) {
        if !self.spend(1) {
            return;
        }
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(map)) => match std::mem::replace(&mut map.next, Next::Key) {
                Next::Key => {
                    map.next = Next::Value(match node.value {
                        Value::Scalar(key) => Some(key),
                        _ => None,
                    });
                }
                Next::Value(Some(key)) if key == "<<" => match node.value {
                    Value::Map(entries) => map.merged.extend(entries),
                    Value::Seq(items) => {
                        for item in items {
                            if let Value::Map(entries) = item.value {
                                map.merged.extend(entries);
                            }
                        }
                    }
                    Value::Scalar(_) => {}
                },
                Next::Value(Some(key)) => map.entries.push((key, node)),
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
            Event::Alias(id) => {
                // Only a merge key's alias is read (a copy of the anchored mapping, counted);
                // any other alias is an empty scalar.
                let merged = self
                    .in_merge()
                    .then(|| self.anchors.get(&id).cloned())
                    .flatten();
                match merged {
                    Some(node) => {
                        if self.spend(count(&node)) {
                            self.push(node);
                        }
                    }
                    None => self.push(Node {
                        line,
                        value: Value::Scalar(String::new()),
                    }),
                }
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq(line, anchor, Vec::new()));
            }
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map(MapFrame {
                line,
                anchor,
                entries: Vec::new(),
                next: Next::Key,
                merged: Vec::new(),
            })),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(line, anchor, items)) => (
                        Node {
                            line,
                            value: Value::Seq(items),
                        },
                        anchor,
                    ),
                    Some(Frame::Map(mut map)) => {
                        // Keys the mapping sets win over merged ones; among merged, the first.
                        for (key, value) in map.merged {
                            if !map.entries.iter().any(|(k, _)| *k == key) {
                                map.entries.push((key, value));
                            }
                        }
                        (
                            Node {
                                line: map.line,
                                value: Value::Map(map.entries),
                            },
                            map.anchor,
                        )
                    }
                    None => return,
                };
                self.finish(node, anchor);
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

    #[test]
    fn merge_keys_give_a_mapping_the_anchored_keys_it_does_not_set() {
        let docs = parse(
            "x-base: &base\n  image: shop:1\n  environment:\n    MODE: web\nservices:\n  web:\n    <<: *base\n  worker:\n    <<: [*base]\n    environment:\n      MODE: worker\n",
        )
        .unwrap();
        let services = docs[0].get("services").unwrap();
        let web = services.get("web").unwrap();
        assert_eq!(web.get("image").unwrap().as_str(), Some("shop:1"));
        let worker = services.get("worker").unwrap();
        assert_eq!(worker.get("image").unwrap().as_str(), Some("shop:1"));
        assert_eq!(
            worker
                .get("environment")
                .unwrap()
                .get("MODE")
                .unwrap()
                .as_str(),
            Some("worker")
        );
        assert!(worker.get("<<").is_none());
    }

    #[test]
    fn merges_of_merges_stay_within_the_node_budget() {
        use std::fmt::Write as _;
        // Each level merges the one before twice over: without the budget, 2^40 nodes.
        let mut bomb = String::from("a0: &a0 {k: [x, x, x, x, x, x, x, x]}\n");
        for i in 1..40 {
            let _ = writeln!(
                bomb,
                "a{i}: &a{i} {{<<: [*a{p}, *a{p}], k{i}: *a{p}}}",
                p = i - 1
            );
        }
        assert!(parse(&bomb).is_none_or(|docs| count(&docs[0]) <= MAX_NODES));
    }
}
