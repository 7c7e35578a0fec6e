//! `dozen top`: the live view (`crate::top`), one screen (`--once`), or JSON.

use std::io::IsTerminal as _;

use serde_json::json;

use super::context::{Context, print};
use crate::cli::TopArgs;
use crate::control::ClientError;
use crate::error::Error;
use crate::exit_code;
use crate::top::view::Screen;

/// Lines of the selected instance's log in one printed screen.
const ONCE_LOG_LINES: usize = 8;

pub(super) fn top(context: &Context, args: &TopArgs) -> Result<i32, Error> {
    let (app, store) = super::control::store_of(context)?;
    let name = app.name.clone();
    if !args.once && !args.json {
        if !std::io::stdout().is_terminal() {
            return Err(Error::usage("`dozen top` draws on a terminal")
                .hint("for scripts: `dozen top --once` or `dozen top --once --json`"));
        }
        return match crate::top::interactive(
            &store,
            &name,
            args.interval,
            context.paint_out().enabled(),
        ) {
            Ok(()) => Ok(exit_code::SUCCESS),
            Err(e) => Err(not_running(&e)),
        };
    }
    let mut frames = match crate::top::subscribe(&store, args.interval) {
        Ok(frames) => frames,
        Err(ClientError::NotRunning) if args.json => {
            print(&format!("{}\n", json!({ "running": false })))?;
            return Ok(exit_code::FAILURE);
        }
        Err(e) => return Err(not_running(&e)),
    };
    if args.json && !args.once {
        return stream_json(&mut frames);
    }
    let model = crate::top::settled(&mut frames).map_err(Error::failed)?;
    let view = model.view().expect("two frames");
    if args.json {
        let mut value = serde_json::to_value(&view).expect("serializable");
        value["running"] = json!(true);
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&value).expect("serializable")
        ))?;
        return Ok(exit_code::SUCCESS);
    }
    let log = view
        .instances
        .first()
        .map(|row| crate::top::recent_lines(&store, &row.name, ONCE_LOG_LINES))
        .unwrap_or_default();
    let screen = Screen {
        app: name,
        log,
        printed: true,
        ..Screen::default()
    };
    print(&crate::top::screen_text(&model, &screen, width()))?;
    Ok(exit_code::SUCCESS)
}

/// A printed screen's width: the terminal's, else `COLUMNS`, else 120.
fn width() -> u16 {
    if std::io::stdout().is_terminal()
        && let Ok((width, _)) = ratatui::crossterm::terminal::size()
    {
        return width.max(40);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
        .map_or(120, |c| c.max(40))
}

/// `--json` without `--once`: an object a frame, until the run ends.
fn stream_json(frames: &mut crate::top::Frames) -> Result<i32, Error> {
    let mut model = crate::top::model::Model::default();
    let start = std::time::Instant::now();
    loop {
        let status = match frames.next_frame() {
            Ok(status) => status,
            Err(why) => {
                eprintln!("{why}");
                return Ok(exit_code::SUCCESS);
            }
        };
        model.push(status, start.elapsed());
        let mut value = serde_json::to_value(model.view().expect("a frame")).expect("serializable");
        value["running"] = json!(true);
        if print(&format!("{value}\n")).is_err() {
            return Ok(exit_code::SUCCESS);
        }
    }
}

/// The client's error in its own words; with how to start a run when there is none.
fn not_running(error: &ClientError) -> Error {
    let hint = matches!(error, ClientError::NotRunning);
    let error = Error::failed(error.to_string());
    if hint {
        error.hint("start it with `dozen run` (or `dozen run --dev`)")
    } else {
        error
    }
}
