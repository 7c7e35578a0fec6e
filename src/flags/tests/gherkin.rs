//! A small reader for the Gherkin that flagd's testbed is written in: features, tags,
//! `Background`, `Scenario`, `Scenario Outline` with tagged `Examples`, steps and data
//! tables. Outlines come out expanded, one scenario per example row.

/// One runnable scenario: an outline's row, or a plain scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// `file: scenario name [row]`, for failure messages.
    pub name: String,
    /// Feature, scenario and examples tags together.
    pub tags: Vec<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Step {
    /// Without its keyword (`Given`, `And`, …).
    pub text: String,
    /// A data table under the step, header row first.
    pub table: Vec<Vec<String>>,
}

struct Outline {
    name: String,
    tags: Vec<String>,
    steps: Vec<Step>,
    examples: Vec<Examples>,
}

struct Examples {
    tags: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// The scenarios of one feature file, named after `file`.
pub fn scenarios(file: &str, text: &str) -> Vec<Scenario> {
    let mut pending_tags: Vec<String> = Vec::new();
    let mut feature_tags = Vec::new();
    let mut background: Vec<Step> = Vec::new();
    let mut outlines: Vec<Outline> = Vec::new();
    let mut in_background = false;
    let mut in_examples = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('@') {
            pending_tags.extend(line.split_whitespace().map(str::to_owned));
        } else if line.starts_with("Feature:") {
            feature_tags = std::mem::take(&mut pending_tags);
        } else if line.starts_with("Background:") {
            in_background = true;
            in_examples = false;
        } else if let Some(name) = ["Scenario Outline:", "Scenario Template:", "Scenario:"]
            .iter()
            .find_map(|k| line.strip_prefix(k))
        {
            in_background = false;
            in_examples = false;
            let mut tags = feature_tags.clone();
            tags.append(&mut pending_tags);
            outlines.push(Outline {
                name: format!("{file}: {}", name.trim()),
                tags,
                steps: background.clone(),
                examples: Vec::new(),
            });
        } else if line.starts_with("Examples:") || line.starts_with("Scenarios:") {
            in_examples = true;
            let outline = outlines.last_mut().expect("Examples belong to an outline");
            outline.examples.push(Examples {
                tags: std::mem::take(&mut pending_tags),
                rows: Vec::new(),
            });
        } else if line.starts_with('|') {
            let row = cells(line);
            if in_examples {
                let outline = outlines.last_mut().expect("an outline");
                outline
                    .examples
                    .last_mut()
                    .expect("examples")
                    .rows
                    .push(row);
            } else {
                let steps = if in_background {
                    &mut background
                } else {
                    &mut outlines.last_mut().expect("a scenario").steps
                };
                steps.last_mut().expect("a step").table.push(row);
            }
        } else {
            let text = ["Given ", "When ", "Then ", "And ", "But ", "* "]
                .iter()
                .find_map(|k| line.strip_prefix(k))
                .unwrap_or_else(|| panic!("{file}: not Gherkin: {line}"));
            let step = Step {
                text: text.to_owned(),
                table: Vec::new(),
            };
            if in_background {
                background.push(step);
            } else {
                outlines.last_mut().expect("a scenario").steps.push(step);
            }
        }
    }
    outlines.into_iter().flat_map(expand).collect()
}

fn expand(outline: Outline) -> Vec<Scenario> {
    if outline.examples.is_empty() {
        return vec![Scenario {
            name: outline.name,
            tags: outline.tags,
            steps: outline.steps,
        }];
    }
    let mut out = Vec::new();
    for examples in &outline.examples {
        let Some((header, rows)) = examples.rows.split_first() else {
            continue;
        };
        for (i, row) in rows.iter().enumerate() {
            let fill = |text: &str| {
                header
                    .iter()
                    .zip(row)
                    .fold(text.to_owned(), |text, (name, value)| {
                        text.replace(&format!("<{name}>"), value)
                    })
            };
            out.push(Scenario {
                name: format!("{} [{}]", outline.name, i + 1),
                tags: outline.tags.iter().chain(&examples.tags).cloned().collect(),
                steps: outline
                    .steps
                    .iter()
                    .map(|step| Step {
                        text: fill(&step.text),
                        table: step
                            .table
                            .iter()
                            .map(|r| r.iter().map(|c| fill(c)).collect())
                            .collect(),
                    })
                    .collect(),
            });
        }
    }
    out
}

/// A table row's cells, trimmed, with Gherkin's escapes (`\|`, `\\`, `\n`) read.
fn cells(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = line.trim().trim_start_matches('|').chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('|') => cell.push('|'),
                Some('n') => cell.push('\n'),
                Some('\\') | None => cell.push('\\'),
                Some(other) => {
                    cell.push('\\');
                    cell.push(other);
                }
            },
            '|' => cells.push(std::mem::take(&mut cell).trim().to_owned()),
            other => cell.push(other),
        }
    }
    cells
}

#[test]
fn reads_outlines_backgrounds_and_tags() {
    let text = "@f\nFeature: x\n  Background:\n    Given an evaluator\n\n  @s\n  Scenario Outline: o\n    Given a \"<a>\"\n    Then a table\n      | k | v |\n      | <a> | 1 |\n\n    @e1\n    Examples: one\n      | a |\n      | p\\|q |\n      | r |\n    @e2\n    Examples:\n      | a |\n      | s |\n  Scenario: plain\n    When it runs\n";
    let found = scenarios("t.feature", text);
    assert_eq!(found.len(), 4);
    assert_eq!(found[0].steps[0].text, "an evaluator");
    assert_eq!(found[0].steps[1].text, "a \"p|q\"");
    assert_eq!(found[0].steps[2].table[1], ["p|q", "1"]);
    assert_eq!(found[0].tags, ["@f", "@s", "@e1"]);
    assert_eq!(found[2].tags, ["@f", "@s", "@e2"]);
    assert_eq!(found[3].name, "t.feature: plain");
    assert_eq!(found[3].steps.len(), 2);
}
