//! `dozen image`: an OCI image of a release, without Docker (docs/image.md).

use std::collections::BTreeMap;

use serde_json::json;

use super::context::{Context, print};
use super::released::Released;
use crate::cli::ImageArgs;
use crate::error::Error;
use crate::exit_code;
use crate::image::error::Error as ImageError;
use crate::image::make::{Request, make};
use crate::image::oci::Platform;
use crate::image::registry::Reference;

pub(super) fn run(context: &Context, args: &ImageArgs) -> Result<i32, Error> {
    if args.out.is_none() && args.archive.is_none() && args.push.is_none() {
        return Err(Error::usage(
            "say where the image goes: --out DIR, --archive FILE or --push REF",
        ));
    }
    let platform = parse_platform(&args.platform)?;
    let push = args
        .push
        .as_deref()
        .map(Reference::parse)
        .transpose()
        .map_err(|e| Error::usage(e.to_string()))?;
    let released = Released::load(context, args.release.map(|v| v.0))?;
    released.refuse_if_runs_only_here("image")?;
    let build = released.build()?;
    // `[image]` is how a release is packaged, not part of it (it does not change the build
    // id): the app's current `dozen.toml` says it, else the release's.
    let (working, _) = crate::app::App::load(&context.locator);
    let current = &working.manifest.image;
    let section = if current.base.is_some() || current.workdir.is_some() || current.user.is_some() {
        current
    } else {
        &released.app.manifest.image
    };
    let (request, base) = request(&released, section, args, platform, &build)?;
    let made = make(&request).map_err(|e| failed(&e))?;
    let reference = format!("v{}", released.version);
    if let Some(out) = &args.out {
        made.write_layout(out, &reference).map_err(|e| failed(&e))?;
    }
    if let Some(archive) = &args.archive {
        // Named as the exports name it (`APP:vN`), so `podman load` / `docker load` give the
        // image the exported Compose file and manifests run, with no retagging.
        let named = format!(
            "{}:{reference}",
            crate::export::kubernetes::object_name(&released.app.name)
        );
        made.write_archive(archive, &named)
            .map_err(|e| failed(&e))?;
    }
    let mut sent = None;
    if let Some(push) = &push {
        sent = Some(made.push(push, &reference).map_err(|e| failed(&e))?);
    }
    let record = json!({
        "release": reference,
        "digest": made.manifest.digest,
        "size": made.manifest.size,
        "config": made.config.digest,
        "base": base,
        "layers": made.layers.iter().map(|l| json!({ "digest": l.digest, "size": l.size })).collect::<Vec<_>>(),
        "app_layer_reused": made.reused,
        "pushed": push.as_ref().map(|p| format!("{}/{}:{}", p.registry, p.repository, p.tag.as_deref().unwrap_or(&reference))),
        "bytes_pushed": sent,
    });
    let images = released.store.join("images");
    // The record is what `releases show` and the exports read: a failure to keep it is said.
    let text = format!(
        "{}\n",
        serde_json::to_string_pretty(&record).expect("serializable")
    );
    let kept = std::fs::create_dir_all(&images).and_then(|()| {
        crate::fsutil::write_atomic(
            &images.join(format!("v{}.json", released.version)),
            text.as_bytes(),
            0o644,
        )
    });
    if let Err(e) = kept {
        eprintln!(
            "{}: the image was made, but its record was not kept ({e}): `dozen releases show` and the exports will not know it",
            context.paint_err().warning("warning")
        );
    }
    if args.json {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&record).expect("serializable")
        ))?;
    } else {
        print(&format!("{}\n", made.manifest.digest))?;
        if !context.quiet {
            eprintln!(
                "v{}: {} layers{}, app layer {}",
                released.version,
                made.layers.len(),
                base.as_ref()
                    .map(|b| format!(" (base {b})"))
                    .unwrap_or_default(),
                if made.reused { "reused" } else { "written" }
            );
        }
    }
    Ok(exit_code::SUCCESS)
}

/// An image that could not be made, written or pushed: a failure (exit 1), with a hint
/// where one helps.
fn failed(error: &ImageError) -> Error {
    let hint = matches!(error, ImageError::OutsideImage(_)).then_some(
        "a base that has what they name, or a build made where the image holds it ([image] workdir; README: \"Portable builds\")",
    );
    let failed = Error::failed(error.to_string());
    match hint {
        Some(hint) => failed.hint(hint),
        None => failed,
    }
}

/// What to make, from the release, `[image]` and the flags: the request and the base's name.
fn request<'a>(
    released: &'a Released,
    section: &crate::app::manifest::ImageSection,
    args: &ImageArgs,
    platform: Platform,
    build: &'a crate::build::builder::Record,
) -> Result<(Request<'a>, Option<String>), Error> {
    let base = args
        .base
        .clone()
        .or_else(|| section.base.as_ref().map(|b| b.get_ref().clone()));
    if let Some(base) = &base {
        crate::image::base::Source::parse(base).map_err(|e| Error::usage(e.to_string()))?;
    }
    let procfile = released
        .app
        .procfile
        .as_ref()
        .ok_or_else(|| Error::usage("the release has no Procfile"))?;
    let web = procfile
        .types
        .iter()
        .find(|t| t.name == "web")
        .or_else(|| procfile.types.first())
        .ok_or_else(|| Error::usage("the release's Procfile has no process type"))?;
    let created = created(released, build);
    let mut annotations = BTreeMap::from([
        (
            "dozen.dev/release".to_owned(),
            format!("v{}", released.version),
        ),
        ("dozen.dev/build".to_owned(), build.id.clone()),
        (
            "org.opencontainers.image.created".to_owned(),
            created.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
    ]);
    if let Some(git) = &build.git {
        annotations.insert(
            "org.opencontainers.image.revision".into(),
            git.commit.clone(),
        );
        if let Some(source) = remote_url(app_dir(released)) {
            annotations.insert("org.opencontainers.image.source".into(), source);
        }
    }
    let request = Request {
        store: &released.store,
        version: released.version,
        build: &build.id,
        tree: &released.tree,
        programs: procfile
            .types
            .iter()
            .map(|t| (t.name.clone(), t.command.clone()))
            .collect(),
        // Started as `dozen run` starts it: `.profile.d` sourced, then `exec`.
        command: crate::app::profile_d::start_script(
            &web.command,
            crate::app::profile_d::has_scripts(&released.tree),
        ),
        env: build.env.clone(),
        base: base.clone(),
        workdir: section
            .workdir
            .as_ref()
            .map_or_else(|| "/app".to_owned(), |w| w.get_ref().clone()),
        user: section.user.as_ref().map(|u| u.get_ref().clone()),
        platform,
        created,
        annotations,
    };
    Ok((request, base))
}

/// What `dozen image` last made of release `version` (`.dozen/images/vN.json`).
pub(super) fn recorded(store: &std::path::Path, version: u32) -> Option<serde_json::Value> {
    let path = store.join("images").join(format!("v{version}.json"));
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// `REGISTRY/REPOSITORY@DIGEST` of release `version`'s pushed image, as `dozen image`
/// recorded it.
pub(super) fn pushed(store: &std::path::Path, version: u32) -> Option<String> {
    let record = recorded(store, version)?;
    let pushed = record["pushed"].as_str()?;
    let digest = record["digest"].as_str()?;
    let reference = Reference::parse(pushed).ok()?;
    Some(format!(
        "{}/{}@{digest}",
        reference.registry, reference.repository
    ))
}

/// When the image says it was made: the build's commit time (reproducible), else (no git)
/// the build's creation.
fn created(released: &Released, build: &crate::build::builder::Record) -> jiff::Timestamp {
    // A dirty tree's build is named by its content (the build id), so its commit's time is
    // as reproducible a time as the clean tree's.
    let from_commit = build.git.as_ref().and_then(|git| {
        let out = std::process::Command::new("git")
            .args(["show", "-s", "--format=%ct", &git.commit])
            .current_dir(app_dir(released))
            .output()
            .ok()?;
        let seconds: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
        jiff::Timestamp::from_second(seconds).ok()
    });
    from_commit
        .or_else(|| build.created.parse().ok())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// The app's own directory (the release's tree is a copy in the store).
fn app_dir(released: &Released) -> &std::path::Path {
    released
        .store
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
}

/// `origin`'s URL without credentials, for `org.opencontainers.image.source`.
fn remote_url(dir: &std::path::Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["remote", "get-url", "origin"])
        .current_dir(dir)
        .output()
        .ok()?;
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || url.is_empty() {
        return None;
    }
    Some(match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest
                .split_once('@')
                .filter(|(user, _)| !user.contains('/'))
                .map_or(rest, |(_, host)| host);
            format!("{scheme}://{rest}")
        }
        None => url,
    })
}

/// `--platform OS/ARCH[/VARIANT]`; anything else is a usage error.
fn parse_platform(text: &str) -> Result<Platform, Error> {
    let mut parts = text.split('/');
    let (Some(os), Some(arch)) = (parts.next(), parts.next()) else {
        return Err(Error::usage(format!(
            "invalid platform `{text}`: write OS/ARCH, e.g. linux/amd64"
        )));
    };
    Ok(Platform {
        os: os.to_owned(),
        architecture: arch.to_owned(),
        variant: parts.next().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Image errors are failures; files pointing outside the image get the hint, and the
    /// user's own bad input stays a usage error.
    #[test]
    fn image_errors_at_the_command_edge() {
        let outside = failed(&ImageError::OutsideImage(vec![]));
        assert_eq!(outside.exit_code(), exit_code::FAILURE);
        assert!(
            matches!(&outside, Error::Failed { hint: Some(h), .. } if h.contains("Portable builds"))
        );
        let refused = failed(&ImageError::TokenRefused(401));
        assert!(matches!(&refused, Error::Failed { hint: None, .. }));
        assert_eq!(refused.to_string(), "the token service answered HTTP 401");
        let platform = parse_platform("linux").unwrap_err();
        assert_eq!(platform.exit_code(), exit_code::USAGE);
        assert_eq!(
            platform.to_string(),
            "invalid platform `linux`: write OS/ARCH, e.g. linux/amd64"
        );
        assert_eq!(
            parse_platform("linux/arm64/v8").unwrap().variant.as_deref(),
            Some("v8")
        );
    }
}
