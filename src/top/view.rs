//! `dozen top`'s screen, drawn with ratatui from the model's [`View`]: a line of the router's
//! totals, sparklines of its requests per second and p99, a deploy's progress and a canary's
//! comparison, a row per instance, the selected instance's log tail, and the keys.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row as TableRow, Sparkline, Table, TableState};

use super::model::{Model, Row, View};

/// What the screen shows besides the run's frames.
#[derive(Debug, Default)]
pub struct Screen {
    pub app: String,
    /// The selected row.
    pub selected: usize,
    /// The selected instance's last lines, oldest first.
    pub log: Vec<String>,
    /// A question waiting for y/n (`stop every web instance?`).
    pub confirm: Option<String>,
    /// What the last key did, or why it could not.
    pub message: Option<String>,
    /// The run ended (why): the last frame stays on screen.
    pub ended: Option<String>,
    pub color: bool,
    /// A printed screen (`--once`): no keys line.
    pub printed: bool,
}

impl Screen {
    fn style(&self, style: Style) -> Style {
        if self.color { style } else { Style::default() }
    }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, model: &Model, screen: &Screen) {
    let Some(view) = model.view() else {
        frame.render_widget(Paragraph::new("waiting for the run…"), frame.area());
        return;
    };
    let deploy = deploy_lines(&view);
    let sparks = sparkline_rows(&view, screen);
    let deploy_rows = u16::try_from(deploy.len()).unwrap_or(0);
    // The table as tall as its rows, leaving the log at least three lines.
    let rows = u16::try_from(view.instances.len()).unwrap_or(u16::MAX);
    let fixed = 2 + sparks + deploy_rows + 1;
    let table_rows = rows
        .saturating_add(1)
        .min(frame.area().height.saturating_sub(fixed + 3))
        .max(2);
    let [
        header,
        sparkline_area,
        deploy_area,
        table_area,
        log_area,
        footer,
    ] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(sparks),
        Constraint::Length(deploy_rows),
        Constraint::Length(table_rows),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(header_lines(&view, screen)), header);
    if sparks > 0 {
        sparklines(frame, model, sparkline_area, screen);
    }
    frame.render_widget(Paragraph::new(deploy), deploy_area);
    table(frame, &view, table_area, screen);
    log_tail(frame, &view, log_area, screen);
    if !screen.printed {
        frame.render_widget(Paragraph::new(footer_line(&view, screen)), footer);
    }
}

/// The rows a screen needs: its fixed lines, the instances, the deploy's and the log's.
pub fn height_for(view: &View, screen: &Screen) -> usize {
    let log_lines = screen.log.len();
    let sparks = usize::from(sparkline_rows(view, screen));
    // Its lines, the table (a header and the rows), the log (a title and at least two
    // lines), the keys.
    2 + sparks
        + deploy_lines(view).len()
        + 1
        + view.instances.len().max(1)
        + 1
        + log_lines.max(2)
        + 1
}

/// Sparklines need a history: none on a printed screen, nor without a router.
fn sparkline_rows(view: &View, screen: &Screen) -> u16 {
    if view.router.is_some() && !screen.printed {
        4
    } else {
        0
    }
}

fn header_lines(view: &View, screen: &Screen) -> Vec<Line<'static>> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let instances = view.instances.len();
    let mut first = vec![
        Span::styled(format!("dozen top  {}", screen.app), bold),
        Span::raw(format!(
            "  ·  {instances} instance{}",
            if instances == 1 { "" } else { "s" }
        )),
    ];
    let second = match &view.router {
        Some(router) => {
            first.push(Span::raw(format!(
                "  ·  router {}://{}",
                if router.https { "https" } else { "http" },
                router.listen
            )));
            let share = router
                .candidate_share_percent
                .map(|p| format!("  ·  candidate side {p:.1}%"))
                .unwrap_or_default();
            format!(
                "{} req/s  p50 {}  p99 {}  ·  {} router err/s  ·  {} conn  {} in flight{share}",
                number(router.requests_per_s),
                millis(router.p50_ms),
                millis(router.p99_ms),
                number(router.router_errors_per_s),
                router.connections,
                router.in_flight
            )
        }
        None => "no router".to_owned(),
    };
    vec![Line::from(first), Line::from(second)]
}

fn sparklines(frame: &mut Frame<'_>, model: &Model, area: Rect, screen: &Screen) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let width = usize::from(left.width);
    let rps: Vec<u64> = tail(model.requests_per_s.iter().copied(), width)
        .map(round)
        .collect();
    let p99: Vec<Option<f64>> = tail(model.p99_ms.iter().copied(), width).collect();
    let peak_rps = model.requests_per_s.iter().copied().fold(0.0, f64::max);
    let peak_p99 = model.p99_ms.iter().flatten().copied().fold(0.0, f64::max);
    let minutes = crate::top::model::HISTORY / 60;
    spark(
        frame,
        left,
        &format!("req/s (peak {} over {minutes}m)", number(Some(peak_rps))),
        rps.into_iter().map(Some).collect(),
        screen.style(Style::default().fg(Color::Green)),
    );
    spark(
        frame,
        right,
        &format!("p99 (peak {} over {minutes}m)", millis(Some(peak_p99))),
        p99.into_iter()
            .map(|v| v.map(|ms| round(ms * 10.0)))
            .collect(),
        screen.style(Style::default().fg(Color::Yellow)),
    );
}

fn spark(frame: &mut Frame<'_>, area: Rect, title: &str, data: Vec<Option<u64>>, style: Style) {
    let [label, bars] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    frame.render_widget(Paragraph::new(title.to_owned()), label);
    frame.render_widget(
        Sparkline::default()
            .data(data)
            .absent_value_symbol(" ")
            .style(style),
        bars,
    );
}

/// The last `n` of `values`.
fn tail<T>(values: impl ExactSizeIterator<Item = T>, n: usize) -> impl Iterator<Item = T> {
    let skip = values.len().saturating_sub(n);
    values.skip(skip)
}

fn round(value: f64) -> u64 {
    // Rates and times are small and never negative; the cast saturates.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rounded = value.max(0.0).round() as u64;
    rounded
}

/// A deploy in flight and a canary's comparison.
fn deploy_lines(view: &View) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(roll) = view.roll.as_ref().filter(|r| !r.ended()) {
        let what = match &roll.release {
            Some(release) => format!("{} to {release}", roll.kind),
            None => roll.kind.to_string(),
        };
        let deploy = roll
            .deploy
            .map(|d| format!(" (deploy d{d})"))
            .unwrap_or_default();
        lines.push(Line::from(format!("{what}: {}{deploy}", roll.state)));
    }
    if let Some(canary) = &view.canary {
        lines.push(Line::from(format!(
            "canary {} {}: step {}/{} at {:.0}% ({}s left)  canary {} req {:.2}% err p99 {}  ·  stable {} req {:.2}% err p99 {}",
            canary.release,
            canary.state,
            canary.step,
            canary.steps.len(),
            canary.weight_percent,
            canary.step_left_ms / 1000,
            canary.canary.requests,
            canary.canary.error_rate,
            millis(canary.canary.p99_ms),
            canary.stable.requests,
            canary.stable.error_rate,
            millis(canary.stable.p99_ms),
        )));
    }
    lines
}

const HEADER: [&str; 12] = [
    "NAME", "STATE", "RELEASE", "SIDE", "CPU%", "RSS", "RESTARTS", "REQ/S", "P50", "P99", "ERR/S",
    "INFLIGHT",
];

/// The columns given up first when the terminal is too narrow for all (`HEADER` indexes):
/// whole columns go, as htop drops them, rather than every value cut short.
const DROPPED_FIRST: [usize; 10] = [11, 8, 2, 6, 10, 3, 9, 7, 5, 4];

/// The columns shown: all that fit in `width`, as wide as their widest cell.
fn columns(view: &View, width: u16) -> Vec<(usize, usize)> {
    let sided = view.instances.iter().any(|i| i.side.is_some());
    let mut widths = HEADER.map(str::len);
    for row in &view.instances {
        for (width, cell) in widths.iter_mut().zip(cells(row)) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut shown: Vec<(usize, usize)> = widths
        .into_iter()
        .enumerate()
        .filter(|(i, _)| sided || HEADER[*i] != "SIDE")
        .collect();
    // The selection's `> `, and two spaces between columns.
    let needed = |shown: &[(usize, usize)]| {
        2 + shown.iter().map(|(_, w)| w).sum::<usize>() + 2 * shown.len().saturating_sub(1)
    };
    for drop in DROPPED_FIRST {
        if needed(&shown) <= usize::from(width) {
            break;
        }
        shown.retain(|(i, _)| *i != drop);
    }
    shown
}

fn table(frame: &mut Frame<'_>, view: &View, area: Rect, screen: &Screen) {
    let shown = columns(view, area.width);
    let header = TableRow::new(shown.iter().map(|(i, _)| HEADER[*i]))
        .style(Style::default().add_modifier(Modifier::BOLD));
    let rows = view.instances.iter().map(|row| {
        let cells = cells(row);
        TableRow::new(shown.iter().map(|(i, _)| cells[*i].clone()))
            .style(screen.style(state_style(&row.state)))
    });
    let widths = shown
        .iter()
        .map(|(_, w)| Constraint::Length(u16::try_from(*w).unwrap_or(u16::MAX)));
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(2)
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ");
    let mut state = TableState::default().with_selected(
        (!view.instances.is_empty()).then(|| screen.selected.min(view.instances.len() - 1)),
    );
    frame.render_stateful_widget(table, area, &mut state);
}

fn state_style(state: &str) -> Style {
    match state {
        "ready" | "running" => Style::default().fg(Color::Green),
        "crashed" | "backing off" => Style::default().fg(Color::Red),
        "starting" | "draining" | "stopping" => Style::default().fg(Color::Yellow),
        _ => Style::default(),
    }
}

fn cells(row: &Row) -> [String; 12] {
    [
        row.name.clone(),
        row.state.clone(),
        row.release.clone(),
        row.side.clone().unwrap_or_else(|| "-".into()),
        row.cpu_percent
            .map_or_else(|| "-".into(), |c| format!("{c:.1}")),
        row.rss_bytes.map_or_else(|| "-".into(), bytes),
        row.restarts.to_string(),
        number(row.requests_per_s),
        millis(row.p50_ms),
        millis(row.p99_ms),
        number(row.errors_per_s),
        row.in_flight.map_or_else(|| "-".into(), |n| n.to_string()),
    ]
}

fn log_tail(frame: &mut Frame<'_>, view: &View, area: Rect, screen: &Screen) {
    let name = view
        .instances
        .get(screen.selected)
        .map_or("", |row| row.name.as_str());
    let block = Block::default()
        .borders(Borders::TOP)
        .title(format!(" {name} log "));
    let inner = usize::from(block.inner(area).height);
    let skip = screen.log.len().saturating_sub(inner);
    let lines: Vec<Line<'_>> = screen.log[skip..]
        .iter()
        .map(|l| Line::from(l.as_str()))
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn footer_line(view: &View, screen: &Screen) -> Line<'static> {
    if let Some(question) = &screen.confirm {
        return Line::from(format!("{question} (y/n)"));
    }
    if let Some(ended) = &screen.ended {
        return Line::from(format!("{ended} — q quits"));
    }
    let selected = view
        .instances
        .get(screen.selected)
        .map_or("-", |row| row.type_name.as_str());
    let keys =
        format!("↑↓ select  r restart {selected}  s stop {selected}  +/- scale {selected}  q quit");
    match &screen.message {
        Some(message) => Line::from(format!("{message}  ·  {keys}")),
        None => Line::from(keys),
    }
}

/// A rate: `12.3`, `-` when unknown.
fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

/// Milliseconds: `4.2ms`, `1.25s`, `-` when unknown.
fn millis(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(ms) if ms >= 1000.0 => format!("{:.2}s", ms / 1000.0),
        Some(ms) => format!("{ms:.1}ms"),
    }
}

/// Bytes as `top` writes them: `812K`, `45.2M`, `1.3G`.
fn bytes(value: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let v = value as f64;
    if v >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1}G", v / (1024.0 * 1024.0 * 1024.0))
    } else if v >= 1024.0 * 1024.0 {
        format!("{:.1}M", v / (1024.0 * 1024.0))
    } else {
        format!("{}K", value / 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(name: &str) -> crate::control::InstanceStatus {
        serde_json::from_value(serde_json::json!({
            "name": name, "type": "web", "index": 1, "state": "ready", "pid": 7, "port": 5000,
            "uptime_ms": 1000, "restarts": 0, "health": "none", "release": "v1",
        }))
        .unwrap()
    }

    /// A printed screen is as tall as it needs: every row and every log line shows.
    #[test]
    fn a_printed_screen_has_every_row_and_log_line() {
        let mut status = crate::control::Response::error("");
        status.ok = true;
        status.instances = (1..=3).map(|i| instance(&format!("web.{i}"))).collect();
        let mut model = Model::default();
        model.push(status.clone(), std::time::Duration::ZERO);
        model.push(status, std::time::Duration::from_secs(1));
        for log in [0, 1, 5] {
            let screen = Screen {
                app: "app".into(),
                log: (0..log).map(|i| format!("line {i}")).collect(),
                printed: true,
                ..Screen::default()
            };
            let text = crate::top::screen_text(&model, &screen, 100);
            for needle in ["web.1", "web.2", "web.3", "web.1 log", "no router"] {
                assert!(text.contains(needle), "{needle} in\n{text}");
            }
            for i in 0..log {
                assert!(text.contains(&format!("line {i}")), "line {i} in\n{text}");
            }
            assert!(!text.contains("q quit"), "{text}");
        }
    }

    /// Too narrow for every column: whole columns go, least needed first, and what stays is
    /// whole (`48.1ms`, not `48.1m`).
    #[test]
    fn a_narrow_screen_drops_whole_columns() {
        let mut status = crate::control::Response::error("");
        status.ok = true;
        status.instances = vec![instance("worker.12")];
        let mut model = Model::default();
        model.push(status.clone(), std::time::Duration::ZERO);
        model.push(status, std::time::Duration::from_secs(1));
        let view = model.view().unwrap();
        let all: Vec<&str> = columns(&view, 200)
            .iter()
            .map(|(i, _)| HEADER[*i])
            .collect();
        assert_eq!(all.len(), 11, "{all:?}");
        assert!(!all.contains(&"SIDE"));
        let narrow: Vec<&str> = columns(&view, 60).iter().map(|(i, _)| HEADER[*i]).collect();
        assert_eq!(narrow[..2], ["NAME", "STATE"]);
        assert!(
            !narrow.contains(&"INFLIGHT") && !narrow.contains(&"P50"),
            "{narrow:?}"
        );
        let screen = Screen {
            app: "app".into(),
            printed: true,
            ..Screen::default()
        };
        for width in [40, 60, 80, 100] {
            let text = crate::top::screen_text(&model, &screen, width);
            let row = text.lines().find(|l| l.contains("worker.12")).unwrap();
            assert!(row.chars().count() <= usize::from(width), "{row}");
            let header = text.lines().find(|l| l.contains("NAME")).unwrap();
            // Every header shown whole: no column cut to fit.
            for word in header.split_whitespace() {
                assert!(
                    HEADER.contains(&word),
                    "{word} cut in {header:?} at {width}"
                );
            }
        }
    }

    #[test]
    fn units() {
        assert_eq!(bytes(812 * 1024), "812K");
        assert_eq!(bytes(47_395_635), "45.2M");
        assert_eq!(millis(Some(4.24)), "4.2ms");
        assert_eq!(millis(Some(1250.0)), "1.25s");
        assert_eq!(number(None), "-");
    }
}
