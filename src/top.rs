//! `dozen top` (docs/top.md): a live view of the running formation. One subscription to the
//! run's control socket streams what `dozen ps` answers every interval (`top` frames); the
//! selected instance's log tail is a `dozen logs -f` of that instance, moved when the
//! selection moves; keys restart, stop and scale the selected type through the same requests
//! as `dozen restart`, `stop` and `scale`, recorded in the history as theirs are.

pub mod model;
pub mod view;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::formation::{ScaleChange, ScaleOp};
use crate::control::{self, ClientError, Op, Request, Response};
use model::Model;
use view::Screen;

/// The longest frame read (a `ps` answer of 100 types × 100 instances is a few MiB).
const MAX_FRAME: u64 = 16 * 1024 * 1024;
/// Log lines kept for the selected instance.
const LOG_LINES: usize = 200;

/// Subscribes to the run's frames, every `interval`.
pub fn subscribe(store: &Path, interval: Duration) -> Result<Frames, ClientError> {
    let stream = control::connect(store)?;
    let request = Request {
        v: control::VERSION,
        op: Op::Top {
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        },
    };
    let mut text = serde_json::to_vec(&request).expect("serializable");
    text.push(b'\n');
    (&stream).write_all(&text).map_err(ClientError::Io)?;
    // A frame is due every interval: twice that and a margin without one, and the run is stuck.
    stream
        .set_read_timeout(Some(interval * 2 + Duration::from_secs(15)))
        .map_err(ClientError::Io)?;
    Ok(Frames {
        reader: BufReader::new(stream),
    })
}

/// The run's frames, as they come.
pub struct Frames {
    reader: BufReader<UnixStream>,
}

impl Frames {
    /// The next frame: `Ok(status)`, or why there is none (the run ended, refused, or sent
    /// something that is not a frame).
    pub fn next_frame(&mut self) -> Result<Response, String> {
        let mut line = Vec::new();
        let read = (&mut self.reader)
            .take(MAX_FRAME)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("the run stopped answering: {e}"))?;
        if read == 0 {
            return Err("the run ended".into());
        }
        if line.last() != Some(&b'\n') {
            return Err(format!(
                "the run sent a frame longer than {} MiB",
                MAX_FRAME >> 20
            ));
        }
        let status: Response = serde_json::from_slice(&line).map_err(|e| {
            let shown: String = String::from_utf8_lossy(&line).chars().take(200).collect();
            format!("the run sent `{}`, not a frame: {e}", shown.trim())
        })?;
        if !status.ok {
            return Err(status.error.unwrap_or_else(|| "the run refused".into()));
        }
        Ok(status)
    }
}

/// The model after two frames, one interval apart (rates need two).
pub fn settled(frames: &mut Frames) -> Result<Model, String> {
    let mut model = Model::default();
    let start = Instant::now();
    for _ in 0..2 {
        let status = frames.next_frame()?;
        model.push(status, start.elapsed());
    }
    Ok(model)
}

/// The last `n` lines of `instance`, as the screen shows them (`12:00:01 text`).
pub fn recent_lines(store: &Path, instance: &str, n: usize) -> Vec<String> {
    let filter = crate::logs::Filter {
        ps: Some(instance.to_owned()),
        source: None,
    };
    let Ok(stream) = crate::logs::follow::request(store, n, &filter, false) else {
        return Vec::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut lines = Vec::new();
    read_log(stream, |line| lines.push(line));
    lines
}

/// Reads a logs answer (a hello, then events) to its end, each event's line to `each`.
fn read_log(stream: UnixStream, mut each: impl FnMut(String)) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    let mut hello = true;
    loop {
        line.clear();
        match (&mut reader).take(1024 * 1024).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if hello => hello = false,
            Ok(_) => {
                if let Ok(event) = serde_json::from_slice::<crate::logs::follow::WireEvent>(&line) {
                    // `2026-12-07T15:52:43.123Z` → `15:52:43`.
                    let time = event.ts.get(11..19).unwrap_or("");
                    each(format!(
                        "{time} {}",
                        crate::ui::terminal::unstyled(event.line.as_bytes())
                    ));
                }
            }
        }
    }
}

/// What reaches the screen's loop.
enum Message {
    Frame(Box<Response>),
    Ended(String),
    /// A line of the instance followed since the selection `generation`.
    Log(u64, String),
    /// What a key's request did, and the formation after it (a scale's answer).
    Did(String, Option<indexmap::IndexMap<String, u32>>),
}

/// The selected instance's log, followed on a thread of its own until dropped.
struct Follower {
    stream: UnixStream,
}

impl Follower {
    fn start(
        store: &Path,
        instance: &str,
        generation: u64,
        tx: &mpsc::Sender<Message>,
    ) -> Option<Self> {
        let filter = crate::logs::Filter {
            ps: Some(instance.to_owned()),
            source: None,
        };
        let stream = crate::logs::follow::request(store, LOG_LINES, &filter, true).ok()?;
        let reading = stream.try_clone().ok()?;
        let tx = tx.clone();
        std::thread::Builder::new()
            .name("dozen-top-log".into())
            .spawn(move || {
                read_log(reading, |line| {
                    drop(tx.send(Message::Log(generation, line)));
                });
            })
            .ok()?;
        Some(Self { stream })
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// The interactive view, until `q`. The terminal is restored however it ends.
pub fn interactive(
    store: &Path,
    app: &str,
    interval: Duration,
    color: bool,
) -> Result<(), ClientError> {
    let mut frames = subscribe(store, interval)?;
    let (tx, rx) = mpsc::channel();
    {
        let tx = tx.clone();
        std::thread::Builder::new()
            .name("dozen-top-frames".into())
            .spawn(move || {
                loop {
                    match frames.next_frame() {
                        Ok(status) => {
                            if tx.send(Message::Frame(Box::new(status))).is_err() {
                                return;
                            }
                        }
                        Err(why) => {
                            let _ = tx.send(Message::Ended(why));
                            return;
                        }
                    }
                }
            })
            .map_err(ClientError::Io)?;
    }
    let mut terminal = ratatui::try_init().map_err(ClientError::Io)?;
    let mut ui = Ui {
        store: store.to_owned(),
        model: Model::default(),
        screen: Screen {
            app: app.to_owned(),
            color,
            ..Screen::default()
        },
        started: Instant::now(),
        tx,
        follower: None,
        following: None,
        generation: 0,
        selected: None,
        pending: None,
        formation: indexmap::IndexMap::new(),
    };
    let result = ui.run(&mut terminal, &rx);
    ratatui::restore();
    result.map_err(ClientError::Io)
}

struct Ui {
    store: PathBuf,
    model: Model,
    screen: Screen,
    started: Instant,
    tx: mpsc::Sender<Message>,
    follower: Option<Follower>,
    /// The instance whose log is followed.
    following: Option<String>,
    generation: u64,
    /// The selected instance, by name: it stays selected as rows come and go.
    selected: Option<String>,
    /// A request that waits for its yes (a stop, a scale to 0).
    pending: Option<Pending>,
    /// The formation as last heard (a frame, a scale's answer) and as this screen's own
    /// scales since will make it: a second `-` before the first is seen still counts it.
    formation: indexmap::IndexMap<String, u32>,
}

/// A request asked about first, and what is said when the answer is no.
struct Pending {
    what: &'static str,
    op: Op,
    declined: String,
}

impl Ui {
    fn run(
        &mut self,
        terminal: &mut ratatui::DefaultTerminal,
        rx: &mpsc::Receiver<Message>,
    ) -> std::io::Result<()> {
        let mut dirty = true;
        loop {
            while let Ok(message) = rx.try_recv() {
                self.take(message);
                dirty = true;
            }
            if dirty {
                terminal.draw(|frame| view::draw(frame, &self.model, &self.screen))?;
                dirty = false;
            }
            if event::poll(Duration::from_millis(50))? {
                match event::read()? {
                    Event::Key(key) if key.kind != KeyEventKind::Release => {
                        if !self.key(key) {
                            return Ok(());
                        }
                        dirty = true;
                    }
                    Event::Resize(..) => dirty = true,
                    _ => {}
                }
            }
        }
    }

    fn take(&mut self, message: Message) {
        match message {
            Message::Frame(status) => {
                self.formation.clone_from(&status.formation);
                self.model.push(*status, self.started.elapsed());
                self.reselect();
                self.follow_selected();
            }
            Message::Ended(why) => {
                self.screen.ended = Some(why);
                self.follower = None;
            }
            Message::Log(generation, line) if generation == self.generation => {
                if self.screen.log.len() == LOG_LINES {
                    self.screen.log.remove(0);
                }
                self.screen.log.push(line);
            }
            Message::Log(..) => {}
            Message::Did(what, formation) => {
                self.screen.message = Some(what);
                if let Some(formation) = formation {
                    self.formation = formation;
                }
            }
        }
    }

    /// The selected row's instance name and type.
    fn selected(&self) -> Option<(String, String)> {
        let instances = &self.model.status()?.instances;
        let count = instances.len();
        let i = instances.get(self.screen.selected.min(count.checked_sub(1)?))?;
        Some((i.name.clone(), i.type_name.clone()))
    }

    /// After a frame: the row of the instance selected before, wherever it is now (else the
    /// same row, or the last).
    fn reselect(&mut self) {
        let Some(status) = self.model.status() else {
            return;
        };
        if let Some(i) = self
            .selected
            .as_ref()
            .and_then(|name| status.instances.iter().position(|i| &i.name == name))
        {
            self.screen.selected = i;
        }
        self.screen.selected = self
            .screen
            .selected
            .min(status.instances.len().saturating_sub(1));
        self.selected = self.selected().map(|(name, _)| name);
    }

    /// Moves the selection by `by` rows.
    fn select(&mut self, down: bool) {
        let count = self.model.status().map_or(0, |s| s.instances.len());
        let last = count.saturating_sub(1);
        self.screen.selected = if down {
            (self.screen.selected + 1).min(last)
        } else {
            self.screen.selected.min(last).saturating_sub(1)
        };
        self.selected = self.selected().map(|(name, _)| name);
    }

    /// Follows the selected instance's log, if that is not the one followed.
    fn follow_selected(&mut self) {
        let name = self.selected().map(|(name, _)| name);
        if name == self.following || self.screen.ended.is_some() {
            return;
        }
        self.generation += 1;
        self.screen.log.clear();
        self.follower = name
            .as_deref()
            .and_then(|n| Follower::start(&self.store, n, self.generation, &self.tx));
        self.following = name;
    }

    /// Applies a key; `false` quits.
    fn key(&mut self, key: KeyEvent) -> bool {
        if self.screen.confirm.take().is_some() {
            match self.pending.take() {
                Some(Pending { what, op, .. }) if key.code == KeyCode::Char('y') => {
                    self.request(what, op);
                }
                Some(Pending { declined, .. }) => self.screen.message = Some(declined),
                None => {}
            }
            return true;
        }
        let selected_type = self.selected().map(|(_, type_name)| type_name);
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return false,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => return false,
            KeyCode::Up | KeyCode::Char('k') => self.select(false),
            KeyCode::Down | KeyCode::Char('j') => self.select(true),
            KeyCode::Char('r') => {
                if let Some(type_name) = selected_type {
                    self.request(
                        "restart",
                        Op::Restart {
                            target: Some(type_name),
                        },
                    );
                }
            }
            KeyCode::Char('s') => {
                if let Some(type_name) = selected_type {
                    self.ask(
                        format!("stop every {type_name} instance?"),
                        Pending {
                            what: "stop",
                            declined: format!("{type_name} not stopped"),
                            op: Op::Stop {
                                target: Some(type_name),
                            },
                        },
                    );
                }
            }
            KeyCode::Char(c @ ('+' | '=' | '-')) => {
                if let Some(type_name) = selected_type {
                    let count = self.formation.get(&type_name).copied().unwrap_or(0);
                    let last = c == '-' && count <= 1;
                    let op = Op::Scale {
                        changes: vec![ScaleChange {
                            type_name: type_name.clone(),
                            op: if c == '-' {
                                ScaleOp::Remove
                            } else {
                                ScaleOp::Add
                            },
                            count: 1,
                        }],
                    };
                    let expected = if c == '-' {
                        count.saturating_sub(1)
                    } else {
                        count + 1
                    };
                    if !last {
                        self.formation.insert(type_name.clone(), expected);
                    }
                    if last {
                        // Its last instance: the type leaves the screen, and + cannot reach it.
                        self.ask(
                            format!("scale {type_name} to 0, stopping its last instance?"),
                            Pending {
                                what: "scale",
                                declined: format!("{type_name} not scaled"),
                                op,
                            },
                        );
                    } else {
                        self.request("scale", op);
                    }
                }
            }
            _ => {}
        }
        self.follow_selected();
        true
    }

    /// Asks `question` (y/n) before `pending`'s request.
    fn ask(&mut self, question: String, pending: Pending) {
        self.screen.confirm = Some(question);
        self.pending = Some(pending);
    }

    /// Sends a key's request on a thread (the screen keeps drawing); what it did comes back
    /// as a message, and it is recorded in the history as the command's would be.
    fn request(&mut self, what: &'static str, op: Op) {
        self.screen.message = Some(format!("{what}…"));
        let (store, tx) = (self.store.clone(), self.tx.clone());
        let spawned = std::thread::Builder::new()
            .name("dozen-top-key".into())
            .spawn(move || {
                let mut formation = None;
                let said = match control::request(
                    &store,
                    &Request {
                        v: control::VERSION,
                        op: op.clone(),
                    },
                ) {
                    Ok(response) if response.ok => {
                        record(&store, what, &op, &response);
                        if matches!(op, Op::Scale { .. }) {
                            formation = Some(response.formation.clone());
                        }
                        match (&op, response.message) {
                            (_, Some(message)) => message,
                            (Op::Scale { .. }, None) => {
                                let counts = response.formation;
                                format!(
                                    "scaled: {}",
                                    crate::app::formation::Formation { counts }.describe()
                                )
                            }
                            (_, None) => format!("{what}: done"),
                        }
                    }
                    Ok(response) => {
                        format!("{what} refused: {}", response.error.unwrap_or_default())
                    }
                    Err(e) => format!("{what} failed: {e}"),
                };
                let _ = tx.send(Message::Did(said, formation));
            });
        if spawned.is_err() {
            self.screen.message = Some(format!("{what} failed: no thread for it"));
        }
    }
}

/// A key's request in the history, as `dozen restart`, `stop` and `scale` record theirs.
fn record(store: &Path, what: &str, op: &Op, response: &Response) {
    let _ = match op {
        Op::Scale { changes } => {
            crate::store::history::scaled(store, changes, &response.formation, true)
        }
        Op::Restart { target } | Op::Stop { target } => {
            crate::store::history::append(store, what, serde_json::json!({ "target": target }))
        }
        _ => Ok(()),
    };
}

/// One screen as text (`dozen top --once`), `width` columns wide and as tall as it needs.
pub fn screen_text(model: &Model, screen: &Screen, width: u16) -> String {
    let height = model
        .view()
        .map_or(1, |view| view::height_for(&view, screen));
    let height = u16::try_from(height.min(500)).unwrap_or(500);
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))
        .expect("in memory");
    let Ok(drawn) = terminal.draw(|frame| view::draw(frame, model, screen));
    let buffer = drawn.buffer;
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
