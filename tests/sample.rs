//! The README's example: the sample app in `fixtures/sample`.

use crate::harness::{Test, repo};

fn sample() -> String {
    repo().join("fixtures/sample").display().to_string()
}

#[test]
fn the_sample_app_is_valid() {
    let json = Test::new()
        .args(&["--app", &sample(), "check", "--json"])
        .run()
        .success()
        .json();
    assert_eq!(json["app"]["name"], "sample");
    assert_eq!(json["procfile"]["types"].as_array().unwrap().len(), 2);
    assert!(json["procfile"]["release"].is_object());
    assert_eq!(
        json["environments"],
        serde_json::json!(["development", "production"])
    );
}

#[test]
fn the_sample_apps_production_config_takes_the_secret_from_the_environment() {
    let json = Test::new()
        .args(&[
            "--app",
            &sample(),
            "--env",
            "production",
            "config",
            "--json",
            "--reveal",
        ])
        .env("SECRET_KEY", "from-ci")
        .run()
        .success()
        .json();
    assert_eq!(json["SECRET_KEY"], "from-ci");
    assert_eq!(
        json["DATABASE_URL"],
        "postgres://sample@db.internal:5432/sample"
    );
}
