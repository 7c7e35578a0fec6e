//! `dozen flags` (docs/flags.md), and the flags `dozen run` serves: the definitions file is
//! the app directory's (not a release's), so a change needs no deploy.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::context::{Context, print};
use super::control::ask;
use crate::app::{App, AppDir};
use crate::control::Op;
use crate::error::Error;
use crate::exit_code;
use crate::flags::Definitions;
use crate::flags::change::summary;

/// The definitions file of an app.
pub(super) struct FlagsFile {
    pub path: PathBuf,
    /// As the user names it, from where dozen runs (`flags.json`, `app/flags.json`).
    pub shown: String,
    /// `[flags]` asks for flags (else they are served only when the default file exists).
    pub configured: bool,
}

impl FlagsFile {
    /// The file `[flags] file` names (default `flags.json`), in the app directory `dir`.
    pub fn of(app: &App, dir: &AppDir) -> Self {
        let name = app.manifest.flags.file();
        let shown = match dir.shown().as_str() {
            "." => name.to_owned(),
            prefix => format!("{prefix}/{name}"),
        };
        Self {
            path: dir.working_dir().join(name),
            shown,
            configured: app.manifest.flags.configured(),
        }
    }

    /// Reads and checks the file: its text and flags, or exit 2 with every error located.
    pub fn read(&self) -> Result<(String, Definitions), Error> {
        Definitions::read_text(&self.path, &self.shown).map_err(|problems| {
            Error::InvalidApp(
                problems
                    .into_iter()
                    .filter(crate::diagnostic::Diagnostic::is_error)
                    .collect(),
            )
        })
    }

    /// The app's flags as `dozen run` serves them and `dozen export` carries them: the
    /// file, its text and its flags, checked; `None` when the app has none. A `[flags]`
    /// section whose file is missing is refused.
    pub fn load(app: &App, dir: &AppDir) -> Result<Option<(Self, String, Definitions)>, Error> {
        let file = Self::of(app, dir);
        if !file.path.exists() {
            return if file.configured {
                Err(file.missing())
            } else {
                Ok(None)
            };
        }
        let (text, definitions) = file.read()?;
        Ok(Some((file, text, definitions)))
    }

    pub fn missing(&self) -> Error {
        Error::usage(format!("no flags: {} does not exist", self.shown)).hint(
            "write flagd's format there, e.g. {\"flags\": {\"new-checkout\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false}, \"defaultVariant\": \"off\"}}} (docs/flags.md)",
        )
    }
}

/// What `dozen run` serves: the flags read and checked, and the OFREP listener bound; with
/// the endpoint every process gets. `None` when the app has no flags.
fn run_plan(
    context: &Context,
    app: &App,
) -> Result<Option<(crate::supervisor::flags::FlagsPlan, String)>, Error> {
    let Some((file, text, definitions)) = FlagsFile::load(app, &context.locator.app_dir())? else {
        return Ok(None);
    };
    let address = match app.manifest.flags.listen.as_ref() {
        Some(listen) => crate::app::ports::RouterAddr::parse(listen.get_ref())
            .map(|a| crate::app::ports::RouterAddr::resolve(Some(a), 0))
            .map_err(|e| Error::usage(format!("[flags] listen: {e}")))?,
        None => std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let listener = std::net::TcpListener::bind(address).map_err(|e| {
        Error::failed(format!("OFREP cannot be served on {address} ({e})"))
            .hint("stop what listens there, or give another address: [flags] listen = \"8017\"")
    })?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::io("the OFREP listener", e))?;
    let host = if bound.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else if bound.is_ipv6() {
        format!("[{}]", bound.ip())
    } else {
        bound.ip().to_string()
    };
    let endpoint = format!("http://{host}:{}", bound.port());
    let plan = crate::supervisor::flags::FlagsPlan {
        path: std::path::absolute(&file.path).unwrap_or(file.path),
        shown: file.shown,
        live: std::sync::Arc::new(crate::flags::live::Live::new(definitions, text.as_bytes())),
        listener,
        endpoint: endpoint.clone(),
    };
    Ok(Some((plan, endpoint)))
}

/// The flags a run serves, with the router's header and every process's `OFREP_ENDPOINT`
/// set: the plan and the endpoint, or nothing when the app has no flags.
/// `(env, configured)`: the processes' environment, and whether the app's config sets
/// `OFREP_ENDPOINT` itself (a flagd of its own, say): then that one stays, and it is said.
pub(super) fn for_run(
    context: &Context,
    app: &App,
    router: Option<&mut crate::supervisor::front::RouterPlan>,
    (env, configured): (&mut Vec<(String, String)>, bool),
) -> Result<(Option<crate::supervisor::flags::FlagsPlan>, Option<String>), Error> {
    let Some((plan, endpoint)) = run_plan(context, app)? else {
        return Ok((None, None));
    };
    stamp_header(context, app, router, &plan);
    if configured {
        if !context.quiet {
            eprintln!(
                "{}: the config sets {ENDPOINT}: the processes get the config's, not this run's ({endpoint})",
                context.paint_err().warning("note")
            );
        }
    } else {
        set_endpoint(env, &endpoint);
    }
    Ok((Some(plan), Some(endpoint)))
}

pub(super) use crate::ofrep::ENDPOINT;

/// Where the app's running `dozen run` serves OFREP, if one does (for `dozen exec`).
pub(super) fn running_endpoint(store: &std::path::Path) -> Option<String> {
    ask(store, Op::Ps)
        .ok()
        .flatten()
        .and_then(|status| status.ofrep)
}

/// `OFREP_ENDPOINT` in a process environment (replacing an inherited one).
pub(super) fn set_endpoint(env: &mut Vec<(String, String)>, endpoint: &str) {
    env.retain(|(k, _)| k != ENDPOINT);
    env.push((ENDPOINT.into(), endpoint.to_owned()));
}

/// `[flags] header`: the router stamps each request's variants (said when there is no router
/// to do it).
fn stamp_header(
    context: &Context,
    app: &App,
    router: Option<&mut crate::supervisor::front::RouterPlan>,
    plan: &crate::supervisor::flags::FlagsPlan,
) {
    let Some(name) = app.manifest.flags.header() else {
        return;
    };
    match router {
        Some(router) => {
            router.front.flags = Some(crate::router::flag_header::FlagHeader {
                name,
                key: app.manifest.flags.key_source(),
                live: std::sync::Arc::clone(&plan.live),
            });
        }
        None if !context.quiet => eprintln!(
            "{}: [flags] header is set by the router, and this run has none",
            context.paint_err().warning("warning")
        ),
        None => {}
    }
}

/// Flag `key` of `definitions`, or exit 2 with a "did you mean".
pub(super) fn flag<'d>(
    definitions: &'d Definitions,
    file: &FlagsFile,
    key: &str,
) -> Result<&'d crate::flags::Flag, Error> {
    definitions.flags.get(key).ok_or_else(|| {
        let error = Error::usage(format!("{} has no flag `{key}`", file.shown));
        match crate::diagnostic::did_you_mean(key, definitions.flags.keys().map(String::as_str)) {
            Some(like) => error.hint(format!("did you mean `{like}`?")),
            None => error.hint("`dozen flags` lists them"),
        }
    })
}

pub(super) fn list(context: &Context, file: &FlagsFile, json: bool) -> Result<i32, Error> {
    if !file.path.exists() {
        // No flags is a list of none, as `--json` says it (exit 0 either way).
        if !json {
            if !context.quiet {
                eprintln!(
                    "no flags: {} does not exist (write flagd's format there: docs/flags.md)",
                    file.shown
                );
            }
            return Ok(exit_code::SUCCESS);
        }
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(
                &json!({"file": file.shown, "exists": false, "flags": []})
            )
            .expect("serializable")
        ))?;
        return Ok(exit_code::SUCCESS);
    }
    let (_, definitions) = file.read()?;
    if json {
        let flags: Vec<Value> = definitions
            .flags
            .iter()
            .map(|(key, flag)| described(key, flag))
            .collect();
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(
                &json!({"file": file.shown, "exists": true, "flags": flags})
            )
            .expect("serializable")
        ))?;
        return Ok(exit_code::SUCCESS);
    }
    let width = definitions
        .flags
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max(3);
    let mut out = format!("{:<width$}  {:<8}  {:<7}  SERVES\n", "KEY", "STATE", "TYPE");
    for (key, flag) in &definitions.flags {
        let _ = writeln!(
            out,
            "{key:<width$}  {:<8}  {:<7}  {}",
            flag.state.as_str(),
            flag.kind().map_or("-", crate::flags::Kind::as_str),
            summary(flag)
        );
    }
    if definitions.flags.is_empty() {
        let _ = writeln!(out, "(no flags in {})", file.shown);
    }
    print(&out)?;
    Ok(exit_code::SUCCESS)
}

/// A flag as `--json` shows it.
fn described(key: &str, flag: &crate::flags::Flag) -> Value {
    json!({
        "key": key,
        "state": flag.state.as_str(),
        "type": flag.kind().map(crate::flags::Kind::as_str),
        "variants": flag.variants,
        "defaultVariant": flag.default_variant,
        "targeting": flag.targeting,
        "serves": summary(flag),
    })
}

pub(super) fn get(
    file: &FlagsFile,
    key: &str,
    targeting_key: Option<&str>,
    evaluation: Option<&str>,
    json: bool,
) -> Result<i32, Error> {
    if !file.path.exists() {
        return Err(file.missing());
    }
    let (_, definitions) = file.read()?;
    let flag = flag(&definitions, file, key)?;
    let evaluated = if targeting_key.is_some() || evaluation.is_some() {
        let mut fields = match evaluation {
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(fields)) => fields,
                Ok(_) => return Err(Error::usage("--context takes a JSON object")),
                Err(e) => return Err(Error::usage(format!("--context is not JSON: {e}"))),
            },
            None => serde_json::Map::new(),
        };
        if let Some(targeting_key) = targeting_key {
            fields.insert(
                "targetingKey".into(),
                Value::String(targeting_key.to_owned()),
            );
        }
        Some(definitions.evaluate(key, &crate::flags::Context(fields)))
    } else {
        None
    };
    if json {
        let mut out = described(key, flag);
        if let Some(result) = &evaluated {
            out["evaluation"] = serde_json::to_value(result).expect("serializable");
        }
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&out).expect("serializable")
        ))?;
        return Ok(exit_code::SUCCESS);
    }
    let mut out = String::new();
    let _ = writeln!(out, "{key}: {}", summary(flag));
    let _ = writeln!(out, "  state     {}", flag.state.as_str());
    let _ = writeln!(
        out,
        "  type      {}",
        flag.kind().map_or("-", crate::flags::Kind::as_str)
    );
    for (name, value) in &flag.variants {
        let default = if flag.default_variant.as_deref() == Some(name) {
            "  (default)"
        } else {
            ""
        };
        let _ = writeln!(out, "  variant   {name} = {value}{default}");
    }
    if let Some(rule) = &flag.targeting {
        let _ = writeln!(out, "  targeting {rule}");
    }
    if let Some(result) = evaluated {
        let value = result
            .value
            .as_ref()
            .map_or_else(|| "(the caller's default)".to_owned(), Value::to_string);
        let _ = write!(
            out,
            "  evaluated {value} variant={} reason={}",
            result.variant.as_deref().unwrap_or("-"),
            serde_json::to_value(result.reason)
                .expect("serializable")
                .as_str()
                .unwrap_or("")
        );
        if let Some(error) = &result.error {
            let _ = write!(out, " error={}", error.message);
        }
        out.push('\n');
    }
    print(&out)?;
    Ok(exit_code::SUCCESS)
}

/// Asks a running `dozen run` to read the file again: `None` when none runs.
pub(super) fn apply(store: &std::path::Path) -> Result<Option<Result<String, String>>, Error> {
    Ok(ask(store, Op::Flags)?.map(|response| {
        if response.ok {
            Ok(response.message.unwrap_or_default())
        } else {
            Err(response.error.unwrap_or_default())
        }
    }))
}
