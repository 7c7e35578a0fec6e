use serde_json::{Value, json};

use super::*;
use crate::flags::Definitions;

fn loaded(text: &str) -> Loaded {
    Loaded {
        definitions: Definitions::parse("flags.json", text).expect("valid"),
        digest: crate::flags::live::digest(text.as_bytes()),
        generation: 1,
    }
}

const FLAGS: &str = r#"{
  "flags": {
    "new-checkout": {
      "state": "ENABLED",
      "variants": {"on": true, "off": false},
      "defaultVariant": "off",
      "targeting": {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "on", null]}
    },
    "retired": {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
    "broken": {"state": "ENABLED", "variants": {"a": "a"}, "defaultVariant": "a", "targeting": {"if": [true, "zzz"]}}
  },
  "metadata": {"flagSetId": "shop"}
}"#;

fn body(answer: &Answer) -> Value {
    serde_json::from_slice(&answer.body).expect("JSON")
}

#[test]
fn routes_are_the_two_post_paths_with_the_key_decoded() {
    assert_eq!(route("POST", "/ofrep/v1/evaluate/flags"), Route::All);
    assert_eq!(
        route("POST", "/ofrep/v1/evaluate/flags/new%20checkout"),
        Route::One("new checkout".into())
    );
    assert_eq!(route("GET", "/ofrep/v1/evaluate/flags/x"), Route::NotPost);
    assert_eq!(route("POST", "/ofrep/v1/evaluate"), Route::NotOfrep);
    assert_eq!(route("POST", "/metrics"), Route::NotOfrep);
}

#[test]
fn one_flag_is_answered_as_ofrep_says() {
    let flags = loaded(FLAGS);
    let hit = evaluate_one(
        &flags,
        "new-checkout",
        br#"{"context": {"targetingKey": "u1", "email": "a@example.com"}}"#,
    );
    assert_eq!(hit.status, 200);
    assert_eq!(
        body(&hit),
        json!({"key": "new-checkout", "value": true, "variant": "on", "reason": "TARGETING_MATCH", "metadata": {"flagSetId": "shop"}})
    );
    let miss = evaluate_one(&flags, "new-checkout", b"{}");
    assert_eq!(body(&miss)["reason"], "DEFAULT");
    assert_eq!(body(&miss)["value"], false);
    let empty = evaluate_one(&flags, "new-checkout", b"");
    assert_eq!(empty.status, 200);

    let disabled = evaluate_one(&flags, "retired", b"{}");
    assert_eq!(disabled.status, 200);
    assert_eq!(
        body(&disabled),
        json!({"key": "retired", "reason": "DISABLED", "metadata": {"flagSetId": "shop"}})
    );

    let missing = evaluate_one(&flags, "nope", b"{}");
    assert_eq!(missing.status, 404);
    assert_eq!(body(&missing)["errorCode"], "FLAG_NOT_FOUND");
    assert_eq!(body(&missing)["key"], "nope");

    let general = evaluate_one(&flags, "broken", b"{}");
    assert_eq!(general.status, 400);
    assert_eq!(body(&general)["errorCode"], "GENERAL");
}

#[test]
fn a_body_that_is_no_context_is_invalid_context() {
    let flags = loaded(FLAGS);
    for bad in [&b"[1]"[..], b"{\"context\": 3}", b"{not json", b"\"x\""] {
        let answer = evaluate_one(&flags, "new-checkout", bad);
        assert_eq!(answer.status, 400, "{}", String::from_utf8_lossy(bad));
        assert_eq!(body(&answer)["errorCode"], "INVALID_CONTEXT");
        let all = evaluate_all(&flags, bad, None);
        assert_eq!(all.status, 400);
        assert_eq!(body(&all)["errorCode"], "INVALID_CONTEXT");
        assert!(body(&all).get("key").is_none());
    }
}

#[test]
fn the_bulk_answer_has_every_flag_and_an_etag_that_follows_what_it_says() {
    let flags = loaded(FLAGS);
    let all = evaluate_all(&flags, br#"{"context": {"targetingKey": "u1"}}"#, None);
    assert_eq!(all.status, 200);
    let keys: Vec<_> = body(&all)["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["new-checkout", "retired", "broken"]);
    assert_eq!(body(&all)["flags"][2]["errorCode"], "GENERAL");
    assert_eq!(body(&all)["metadata"], json!({"flagSetId": "shop"}));
    let etag = all.etag.clone().unwrap();
    assert!(etag.starts_with('"') && etag.ends_with('"'));

    let again = evaluate_all(
        &flags,
        br#"{"context": {"targetingKey": "u1"}}"#,
        Some(&etag),
    );
    assert_eq!((again.status, again.body.len()), (304, 0));
    assert_eq!(again.etag.as_deref(), Some(etag.as_str()));
    let weak = format!("\"other\", W/{etag}");
    assert_eq!(evaluate_all(&flags, b"{}", Some(&weak)).status, 304);

    // Another context that changes an answer, or other flags: another tag.
    let other = evaluate_all(
        &flags,
        br#"{"context": {"email": "b@example.com"}}"#,
        Some(&etag),
    );
    assert_eq!(other.status, 200);
    assert_ne!(other.etag.unwrap(), etag);
    let changed =
        loaded(&FLAGS.replace("\"defaultVariant\": \"off\"", "\"defaultVariant\": \"on\""));
    assert_eq!(evaluate_all(&changed, b"{}", Some(&etag)).status, 200);
}
