//! Drains, with rsyslog from Debian as the collector.

use super::*;

fn rsyslogd() -> Option<PathBuf> {
    let found = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        crate::harness::missing("rsyslogd", "apt-get install rsyslog rsyslog-gnutls");
    }
    found
}

/// An rsyslogd of the test's own, writing each message it receives as
/// `HOSTNAME\tAPP-NAME\tPROCID\tMSG` to `received.log`.
struct Rsyslog {
    child: Child,
    dir: tempfile::TempDir,
}

impl Rsyslog {
    /// Listens on `tcp` (TCP, or TLS with `tls`) and `tcp + 1` (UDP).
    fn start(tcp: u16, tls: Option<&TestCa>) -> Option<Self> {
        let binary = rsyslogd()?;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let (global_tls, module) = match tls {
            Some(ca) => (
                format!(
                    " DefaultNetstreamDriverCAFile=\"{}\" DefaultNetstreamDriverCertFile=\"{}\" DefaultNetstreamDriverKeyFile=\"{}\"",
                    ca.ca.display(),
                    ca.cert.display(),
                    ca.key.display()
                ),
                "module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=\"anon\")",
            ),
            None => (String::new(), "module(load=\"imtcp\")"),
        };
        let config = format!(
            "global(workDirectory=\"{d}\" maxMessageSize=\"64k\" parser.escapeControlCharactersOnReceive=\"off\"{global_tls})\n\
             {module}\nmodule(load=\"imudp\")\n\
             input(type=\"imtcp\" port=\"{tcp}\" ruleset=\"r\")\n\
             input(type=\"imudp\" port=\"{udp}\" address=\"127.0.0.1\" ruleset=\"r\")\n\
             template(name=\"t\" type=\"string\" string=\"%hostname%\\t%app-name%\\t%procid%\\t%msg%\\n\")\n\
             ruleset(name=\"r\") {{ action(type=\"omfile\" file=\"{d}/received.log\" template=\"t\") }}\n",
            udp = tcp + 1
        );
        std::fs::write(dir.path().join("rsyslog.conf"), config).unwrap();
        let child = Command::new(binary)
            .args(["-n", "-f"])
            .arg(dir.path().join("rsyslog.conf"))
            .arg("-i")
            .arg(dir.path().join("pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        crate::harness::wait_for_port(tcp, "rsyslogd");
        Some(Self { child, dir })
    }

    /// The messages received so far: (hostname, app-name, procid, msg).
    fn received(&self) -> Vec<(String, String, String, String)> {
        let text = std::fs::read(self.dir.path().join("received.log")).unwrap_or_default();
        String::from_utf8_lossy(&text)
            .lines()
            .map(|l| {
                let mut parts = l.splitn(4, '\t');
                let mut next = || parts.next().unwrap_or("").to_owned();
                (next(), next(), next(), next())
            })
            .collect()
    }

    /// Waits until `count` messages of the app (APP-NAME `app`) have arrived.
    #[track_caller]
    fn wait_for_app_lines(&self, count: usize, secs: u64) -> Vec<(String, String, String, String)> {
        crate::harness::eventually_ok(
            &format!("{count} lines of the app to arrive"),
            Duration::from_secs(secs),
            || {
                let received = self.received();
                let app = received.iter().filter(|r| r.1 == "app").count();
                if app >= count {
                    Ok(received)
                } else {
                    Err(format!("{app} arrived"))
                }
            },
        )
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, signal).unwrap();
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Each instance's lines as the collector got them, in the order it got them.
fn by_instance(received: &[(String, String, String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut per: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, app, procid, msg) in received {
        if app == "app" && msg != "done" {
            per.entry(procid.clone()).or_default().push(msg.clone());
        }
    }
    per
}

#[test]
fn syslog_drains_over_tcp_and_udp_deliver_every_line_as_written() {
    let base = crate::harness::port_block();
    let collector_port = base + 150;
    let Some(rsyslog) = Rsyslog::start(collector_port, None) else {
        return;
    };
    let manifest = format!(
        "[app]\nname = \"shop\"\n\n[logs]\ndrains = [\"syslog+tcp://127.0.0.1:{collector_port}\"]\n"
    );
    let test = app().env("LINES", "2000").manifest(&manifest);
    let mut running = test.run_at(base, "web=2,worker=1");
    running.wait_for_nth("| done", 3, 30);
    let received = rsyslog.wait_for_app_lines(6003, 30);
    let per = by_instance(&received);
    for ps in ["web.1", "web.2", "worker.1"] {
        assert_lines(&per[ps], &all_written(ps, 2000), ps);
    }
    // HOSTNAME the app's name; dozen's own lines under APP-NAME dozen.
    assert!(
        received.iter().all(|r| r.0 == "shop"),
        "{:?}",
        &received[..3]
    );
    assert!(
        received
            .iter()
            .any(|r| r.1 == "dozen" && r.2 == "dozen" && r.3.starts_with("web.1 started (pid "))
    );
    let status = ps_json(&running);
    let drain = &status["logs"]["drains"][0];
    assert_eq!(drain["state"], "connected", "{drain}");
    assert_eq!(drain["dropped"], 0);
    assert_eq!(
        drain["url"],
        format!("syslog+tcp://127.0.0.1:{collector_port}")
    );
    stop(running);

    // UDP: one datagram per line (a burst no bigger than the collector's socket buffer holds:
    // beyond it, the kernel drops datagrams, as UDP may).
    let manifest = format!(
        "[logs]\ndrains = [\"syslog+udp://127.0.0.1:{}\"]\n",
        collector_port + 1
    );
    let before = rsyslog.received().len();
    let test = app().env("LINES", "100").manifest(&manifest);
    let mut running = test.run_at(base, "web=1");
    running.wait_for("web.1 | done", 30);
    let udp = crate::harness::eventually_ok(
        "101 lines of the app over UDP",
        Duration::from_secs(20),
        || {
            let received = rsyslog.received().split_off(before);
            let app = received.iter().filter(|r| r.1 == "app").count();
            if app >= 101 {
                Ok(received)
            } else {
                Err(format!("{app} arrived"))
            }
        },
    );
    assert_lines(
        &by_instance(&udp)["web.1"],
        &all_written("web.1", 100),
        "udp",
    );
    stop(running);
}

#[test]
fn a_tls_drain_checks_the_collector_s_certificate_and_delivers_every_line() {
    let base = crate::harness::port_block();
    let collector_port = base + 150;
    if rsyslogd().is_none() {
        return;
    }
    let ca = TestCa::make();
    let Some(rsyslog) = Rsyslog::start(collector_port, Some(&ca)) else {
        return;
    };
    let manifest = format!(
        "[logs]\ndrains = [\"syslog+tls://localhost:{collector_port}\"]\nflush_timeout = \"500ms\"\n"
    );

    // The test CA is not among the platform's roots: nothing is sent, and ps says why.
    let mut running = app()
        .env("LINES", "10")
        .manifest(&manifest)
        .run_at(base, "web=1");
    running.wait_for("web.1 | done", 30);
    let drain = crate::harness::eventually_ok(
        "the drain to say why it sends nothing",
        Duration::from_secs(10),
        || {
            let drain = ps_json(&running)["logs"]["drains"][0].clone();
            if drain["last_error"].is_string() {
                Ok(drain)
            } else {
                Err(drain.to_string())
            }
        },
    );
    assert!(
        drain["last_error"]
            .as_str()
            .unwrap()
            .contains("UnknownIssuer"),
        "{drain}"
    );
    assert_eq!(drain["sent"], 0);
    stop(running);
    assert!(rsyslog.received().is_empty());

    // Trusted through SSL_CERT_FILE, as any rustls or OpenSSL client does.
    let mut running = app()
        .env("LINES", "1000")
        .env("SSL_CERT_FILE", ca.ca.to_str().unwrap())
        .manifest(&manifest)
        .run_at(base, "web=2");
    running.wait_for_nth("| done", 2, 30);
    let received = rsyslog.wait_for_app_lines(2002, 30);
    let per = by_instance(&received);
    for ps in ["web.1", "web.2"] {
        assert_lines(&per[ps], &all_written(ps, 1000), ps);
    }
    stop(running);
}

#[test]
fn a_stopped_collector_costs_lines_counted_exactly_and_never_blocks_the_app() {
    let base = crate::harness::port_block();
    let collector_port = base + 150;
    let Some(rsyslog) = Rsyslog::start(collector_port, None) else {
        return;
    };
    let script = "import os, time\nwhile not os.path.exists('go'): time.sleep(0.02)\nexec(open('writer.py').read())\n";
    let manifest = format!(
        "[logs]\ndrains = [\"syslog+tcp://127.0.0.1:{collector_port}\"]\ndrain_queue = 1000\nflush_timeout = \"20s\"\n"
    );
    let lines = 200_000;
    let test = app()
        .file("wait.py", script)
        .procfile("web: cd . && python3 -u wait.py\n")
        .env("LINES", &lines.to_string())
        .manifest(&manifest);
    let mut running = test.run_at(base, "web=1");
    running.wait_for("web.1 started", 30);
    crate::harness::eventually("the drain to connect", Duration::from_secs(10), || {
        ps_json(&running)["logs"]["drains"][0]["state"] == "connected"
    });
    // The collector stops (a hung rsyslogd: connected, reading nothing) for 10 s.
    rsyslog.signal(rustix::process::Signal::STOP);
    let stopped = Instant::now();
    std::fs::write(running.dir.path().join("go"), "").unwrap();
    running.wait_for("web.1 | done", 60);
    let wrote_in = stopped.elapsed();
    assert!(
        wrote_in < Duration::from_secs(10),
        "the app took {wrote_in:?} to write while the collector was stopped"
    );
    // A fixed time on purpose: the collector stays hung for its 10 s, however soon the app
    // is done.
    std::thread::sleep(Duration::from_secs(10).saturating_sub(stopped.elapsed()));
    rsyslog.signal(rustix::process::Signal::CONT);

    // Every line of the stream is either received or counted as dropped: the app's, and
    // dozen's own (each is a line of the run's stdout; L10 lines are made for the drain).
    let (received, dropped) = crate::harness::eventually_ok(
        "every line to be received or counted as dropped",
        Duration::from_secs(60),
        || {
            let drain = ps_json(&running)["logs"]["drains"][0].clone();
            let received = rsyslog.received();
            let app_lines = received
                .iter()
                .filter(|r| r.1 == "app" && r.3 != "done")
                .count();
            let dropped = usize::try_from(drain["dropped"].as_u64().unwrap()).unwrap();
            if drain["queued"] == 0 && app_lines + dropped >= lines {
                Ok((received, dropped))
            } else {
                Err(format!(
                    "{app_lines} received + {dropped} dropped < {lines}: {drain}"
                ))
            }
        },
    );
    while running.poll_line(Duration::from_millis(300)).is_some() {}
    let streamed = running.seen.len();
    let delivered = received
        .iter()
        .filter(|r| !r.3.starts_with("Error L10 "))
        .count();
    assert!(
        dropped > 0,
        "nothing was dropped: the test did not fill the queue"
    );
    assert_eq!(
        delivered + dropped,
        streamed,
        "received {delivered} + dropped {dropped}"
    );
    let app_lines: Vec<String> = by_instance(&received).remove("web.1").unwrap_or_default();
    // What arrived is in order, with a gap where the drops were.
    let numbers: Vec<usize> = app_lines
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[1] > w[0]));
    assert!(numbers.len() < lines);
    // The collector is told, as Logplex's L10, and so is the stream.
    assert!(
        received
            .iter()
            .any(|r| r.1 == "dozen" && r.3.starts_with("Error L10 (output buffer overflow): "))
    );
    running.wait_for("is behind: Error L10 (output buffer overflow)", 10);
    stop(running);
}
