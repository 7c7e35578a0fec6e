use super::*;

/// A self-signed certificate for `names`, written as `NAME.crt` and `NAME.key` in `dir`.
fn pair(dir: &Path, file: &str, names: &[&str]) -> Pair {
    let made = rcgen::generate_simple_self_signed(
        names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
    )
    .unwrap();
    let cert = dir.join(format!("{file}.crt"));
    let key = dir.join(format!("{file}.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    Pair { cert, key }
}

fn leaf_names(key: &CertifiedKey) -> Vec<String> {
    Named::of(key.clone()).names
}

#[test]
fn the_certificate_is_picked_by_the_name_asked_and_the_first_is_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = vec![
        pair(dir.path(), "a", &["a.test"]),
        pair(dir.path(), "b", &["b.test", "www.b.test"]),
        pair(dir.path(), "c", &["*.c.test"]),
    ];
    let resolver = Resolver {
        named: load(&pairs).unwrap(),
    };
    let picked = |name: Option<&str>| leaf_names(&resolver.pick(name).unwrap());
    assert_eq!(picked(Some("b.test")), ["b.test", "www.b.test"]);
    assert_eq!(picked(Some("WWW.B.Test")), ["b.test", "www.b.test"]);
    assert_eq!(picked(Some("api.c.test")), ["*.c.test"]);
    // A wildcard covers one label only.
    assert_eq!(picked(Some("x.api.c.test")), ["a.test"]);
    assert_eq!(picked(Some("elsewhere.test")), ["a.test"]);
    assert_eq!(picked(None), ["a.test"]);
}

#[test]
fn a_chain_keeps_its_order_and_the_key_must_be_the_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let a = pair(dir.path(), "a", &["a.test"]);
    let b = pair(dir.path(), "b", &["b.test"]);
    let chain = dir.path().join("chain.crt");
    let text =
        std::fs::read_to_string(&a.cert).unwrap() + &std::fs::read_to_string(&b.cert).unwrap();
    std::fs::write(&chain, text).unwrap();
    let named = load(&[Pair {
        cert: chain.clone(),
        key: a.key.clone(),
    }])
    .unwrap();
    assert_eq!(named[0].key.cert.len(), 2);
    assert_eq!(named[0].names, ["a.test"]);

    let mismatched = load(&[Pair {
        cert: a.cert.clone(),
        key: b.key.clone(),
    }])
    .err()
    .unwrap()
    .to_string();
    assert!(
        mismatched.contains("is not the key of the certificate in"),
        "{mismatched}"
    );
    let swapped = load(&[Pair {
        cert: a.key.clone(),
        key: a.cert.clone(),
    }])
    .err()
    .unwrap()
    .to_string();
    assert!(swapped.contains("the other way round"), "{swapped}");
}

#[test]
fn a_bad_pem_file_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let a = pair(dir.path(), "a", &["a.test"]);
    let broken = dir.path().join("broken.crt");
    std::fs::write(
        &broken,
        "# a comment\n\n-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let error = certificates(&broken).unwrap_err().to_string();
    assert!(
        error.starts_with(&format!(
            "{}:4:1: this CERTIFICATE block cannot be read",
            broken.display()
        )),
        "{error}"
    );

    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
    let error = certificates(&broken).unwrap_err().to_string();
    assert!(
        error.contains(":1:1: this CERTIFICATE block has no -----END line"),
        "{error}"
    );
    std::fs::write(
        &broken,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    let error = private_key(&broken).unwrap_err().to_string();
    assert!(
        error.contains(":1:1: the private key is encrypted"),
        "{error}"
    );
    assert!(error.contains("openssl pkey -in"), "{error}");

    std::fs::write(&broken, [0xff, 0xfe, 0x00]).unwrap();
    assert!(
        certificates(&broken)
            .unwrap_err()
            .to_string()
            .contains("is not PEM text")
    );

    let error = certificates(dir.path()).unwrap_err().to_string();
    assert!(error.contains("is not a file"), "{error}");
    let error = private_key(&a.cert).unwrap_err().to_string();
    assert!(error.contains("has no private key"), "{error}");

    let big = dir.path().join("big.crt");
    std::fs::write(
        &big,
        vec![b'a'; usize::try_from(MAX_PEM_BYTES).unwrap() + 1],
    )
    .unwrap();
    assert!(
        certificates(&big)
            .unwrap_err()
            .to_string()
            .contains("longer than")
    );
}

#[test]
fn other_blocks_are_passed_over_and_a_chain_out_of_order_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let a = pair(dir.path(), "a", &["a.test"]);
    let b = pair(dir.path(), "b", &["b.test"]);
    // `openssl ecparam -genkey` writes the curve's parameters before the key.
    let key = std::fs::read_to_string(&a.key).unwrap();
    std::fs::write(
        &a.key,
        format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{key}"
        ),
    )
    .unwrap();
    assert!(load(std::slice::from_ref(&a)).is_ok());

    // The intermediate (here: b) before the leaf.
    let chain = dir.path().join("reversed.crt");
    let text =
        std::fs::read_to_string(&b.cert).unwrap() + &std::fs::read_to_string(&a.cert).unwrap();
    std::fs::write(&chain, text).unwrap();
    let error = load(&[Pair {
        cert: chain,
        key: a.key.clone(),
    }])
    .err()
    .unwrap()
    .to_string();
    assert!(error.contains("is the key of certificate 2 in"), "{error}");
    assert!(
        error.contains("put the server's own certificate (the leaf) first"),
        "{error}"
    );
}

#[test]
fn a_changed_file_is_seen_and_a_failed_reload_keeps_the_set_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let a = pair(dir.path(), "a", &["a.test"]);
    let tls = Tls::from_files(vec![a.clone()]).unwrap();
    assert!(!tls.changed());
    let before = tls.config();

    // Replaced by a rename, as certbot does: a new inode.
    let other = pair(dir.path(), "other", &["a.test", "new.a.test"]);
    std::fs::rename(&other.cert, &a.cert).unwrap();
    std::fs::rename(&other.key, &a.key).unwrap();
    assert!(tls.changed());
    let said = tls.reload().unwrap();
    assert_eq!(said, "1 certificate for a.test, new.a.test");
    assert!(!tls.changed());
    assert!(!Arc::ptr_eq(&before, &tls.config()));

    let kept = tls.config();
    std::fs::write(&a.key, "not a key\n").unwrap();
    assert!(tls.changed());
    assert!(
        tls.reload()
            .unwrap_err()
            .to_string()
            .contains("has no private key")
    );
    assert!(
        Arc::ptr_eq(&kept, &tls.config()),
        "a failed reload keeps the set in use"
    );
    // Tried once: not again until the file changes again.
    assert!(!tls.changed());
}

#[test]
fn the_configuration_offers_h2_then_http1() {
    let dir = tempfile::tempdir().unwrap();
    let tls = Tls::from_files(vec![pair(dir.path(), "a", &["a.test"])]).unwrap();
    assert_eq!(
        tls.config().alpn_protocols,
        [b"h2".to_vec(), b"http/1.1".to_vec(), b"http/1.0".to_vec()]
    );
}

/// A self-signed certificate for `name` that ends `days` from now (before now if negative).
fn ending(dir: &Path, name: &str, days: i64) -> Pair {
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(400);
    params.not_after = now + time::Duration::days(days);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let pair = Pair {
        cert: dir.join(format!("{name}.crt")),
        key: dir.join(format!("{name}.key")),
    };
    std::fs::write(&pair.cert, cert.pem()).unwrap();
    std::fs::write(&pair.key, key.serialize_pem()).unwrap();
    pair
}

#[test]
fn an_expired_or_expiring_certificate_is_warned_of_and_its_end_told_once_when_it_comes() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = vec![
        ending(dir.path(), "old.test", -3),
        ending(dir.path(), "soon.test", 5),
        ending(dir.path(), "fine.test", 90),
    ];
    let tls = Tls::from_files(pairs).unwrap();
    let now = jiff::Timestamp::now();
    let warnings = tls.warnings(now);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("old.test.crt (old.test) expired on ")
            && warnings[0].contains("clients refuse it"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("soon.test.crt (soon.test) expires on ")
            && warnings[1].ends_with("in 5 days"),
        "{warnings:?}"
    );
    // The expired one was said as it was loaded: no news. Six days on, `soon` has ended.
    assert!(tls.newly_expired(now).is_empty());
    let later = now + jiff::SignedDuration::from_hours(6 * 24);
    let news = tls.newly_expired(later);
    assert_eq!(news.len(), 1, "{news:?}");
    assert!(news[0].contains("soon.test") && news[0].contains("expired on"));
    assert!(tls.newly_expired(later).is_empty(), "told once");
}
