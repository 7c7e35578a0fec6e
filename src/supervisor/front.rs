//! The run's front door: the router started in front of its type, its certificates watched
//! and reloaded.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::machine::Machine;
use super::output::pump::{self, Command as PumpCommand};

/// What the run's router serves: the type it fronts, where, with which limits.
pub struct RouterPlan {
    pub type_name: String,
    /// Where it listens, bound, and what it speaks there.
    pub front: crate::router::Front,
    /// Lines to say as it starts (the development CA made, and how to trust it).
    pub notes: Vec<String>,
    pub limits: crate::router::Limits,
    /// `[router] metrics`: the Prometheus exposition's listener, bound.
    pub metrics: Option<std::net::TcpListener>,
}

/// Starts the router in front of its type, its lines and drains fed back into the loop.
pub fn start_router(
    plan: RouterPlan,
    machine: &mut Machine,
    pump: &pump::Handle,
) -> std::io::Result<crate::router::Router> {
    machine.route(&plan.type_name);
    // The router's lines go to the pump from the router's threads, never through the loop.
    let lines = Mutex::new(pump.try_clone()?);
    let say = Box::new(move |text: String| {
        lines
            .lock()
            .expect("router lines lock")
            .send(PumpCommand::Router { text });
    });
    // After the nursery started (the instances keep the limit dozen was started with).
    let mut limits = plan.limits;
    let fit = crate::router::descriptors::fit(limits.max_connections);
    limits.max_connections = fit.max_connections;
    let scheme = if plan.front.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let http = plan
        .front
        .http
        .as_ref()
        .map(|(listener, redirect)| (listener.local_addr(), *redirect));
    let router = crate::router::Router::start(plan.front, limits, say)?;
    let beside = match http {
        Some((Ok(address), true)) => format!(" (http://{address} redirects to it)"),
        Some((Ok(address), false)) => format!(" (and http://{address})"),
        _ => String::new(),
    };
    pump.system(
        format!(
            "router listening on {scheme}://{}{beside} for {}",
            router.listen(),
            plan.type_name
        ),
        None,
    );
    for note in plan.notes {
        pump.system(note, None);
    }
    if let Some(tls) = router.tls() {
        watch_certificates(tls, pump.try_clone()?)?;
    }
    // The default is fitted to the machine quietly; a limit the app asked for is said when
    // it cannot be kept.
    let asked_for = fit.lowered_from != Some(crate::router::Limits::default().max_connections);
    if let Some(warning) = fit.warning().filter(|_| asked_for) {
        pump.system(warning, None);
    }
    Ok(router)
}

/// Whether this process has a controlling terminal (it was started in a terminal's session).
pub fn controlling_terminal() -> bool {
    std::fs::File::open("/dev/tty").is_ok()
}

/// How often the router's certificate files are looked at (a stat of each).
const CERTIFICATES_EVERY: Duration = Duration::from_secs(2);

/// Reads the router's certificates again when a file changed (or a development certificate
/// is due), on a thread of its own that ends with the router.
fn watch_certificates(
    tls: &Arc<crate::router::tls::Tls>,
    pump: pump::Handle,
) -> std::io::Result<()> {
    let tls = Arc::downgrade(tls);
    std::thread::Builder::new()
        .name("dozen-certificates".into())
        .spawn(move || {
            loop {
                std::thread::sleep(CERTIFICATES_EVERY);
                let Some(tls) = tls.upgrade() else { return };
                if tls.changed() {
                    for line in reload_certificates(&tls) {
                        pump.system(line, None);
                    }
                }
                for warning in tls.newly_expired(jiff::Timestamp::now()) {
                    pump.system(format!("warning: {warning}"), None);
                }
            }
        })?;
    Ok(())
}

/// Reads the router's certificates again: the lines that say how it went.
pub fn reload_certificates(tls: &crate::router::tls::Tls) -> Vec<String> {
    match tls.reload() {
        Ok(what) => std::iter::once(format!("router certificates reloaded: {what}"))
            .chain(
                tls.warnings(jiff::Timestamp::now())
                    .into_iter()
                    .map(|w| format!("warning: {w}")),
            )
            .collect(),
        Err(error) => vec![format!(
            "router certificates not reloaded, the ones in use stay: {error}"
        )],
    }
}
