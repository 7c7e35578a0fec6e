//! `dozen gc [--keep N]`: removes builds no recent release needs, then the stored files no
//! remaining build uses.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use serde_json::json;

use super::context::{Context, Inspection, print};
use crate::cli::GcArgs;
use crate::error::Error;
use crate::exit_code;
use crate::store::releases::{Ledger, Release, Status};
use crate::store::tree::{Kind, Tree, remove_materialized};

pub(super) fn run(context: &Context, args: &GcArgs) -> Result<i32, Error> {
    let inspection = Inspection::valid_config(context, context.environment())?;
    let store = super::context::open_store(&inspection.app)?;
    let Some(_lock) = crate::store::try_lock_exclusive(&store)
        .map_err(|e| Error::io("cannot lock the store", e))?
    else {
        return Err(Error::failed(
            "the store is in use (a build, a release, or a run or exec of a release)",
        )
        .hint("run gc when they are done: it would remove builds they may need"));
    };
    let ledger = Ledger::open(&store).map_err(|e| Error::failed(e.to_string()))?;
    super::release::sync_history(&store, &ledger, None)?;
    let releases = ledger.list().map_err(|e| Error::failed(e.to_string()))?;
    let current = ledger.current().map_err(|e| Error::failed(e.to_string()))?;
    let kept = kept_releases(&releases, current, args.keep);
    let keep: HashSet<String> = kept.iter().map(|r| r.build.clone()).collect();
    let kept_versions: HashSet<u32> = kept.iter().map(|r| r.version).collect();

    let builds_dir = store.join("builds");
    let all: BTreeSet<String> = std::fs::read_dir(&builds_dir)
        .map(|entries| {
            entries
                .filter_map(|e| {
                    e.ok()?
                        .file_name()
                        .into_string()
                        .ok()?
                        .strip_suffix(".json")
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut removed_builds = 0;
    // Records first, then trees, then objects: a crash midway leaves only unreferenced files.
    for id in all.iter().filter(|id| !keep.contains(*id)) {
        for extension in ["json", "tree", "seal", "clean", "log"] {
            let _ = std::fs::remove_file(builds_dir.join(format!("{id}.{extension}")));
        }
        for lock in ["lock", "use"] {
            let _ = std::fs::remove_file(store.join("locks").join(format!("build-{id}.{lock}")));
        }
        let tree = store.join("trees").join(id);
        if tree.exists() {
            remove_materialized(&tree)
                .map_err(|e| Error::io(format!("cannot remove {}", tree.display()), e))?;
        }
        removed_builds += 1;
    }
    // Nothing else can be running (the exclusive lock): every partial build is debris.
    crate::store::clear_debris(&store);
    let (removed_objects, freed) = remove_unreferenced_objects(&store, &keep)?;
    let (removed_blobs, freed_blobs) = remove_unused_images(&store, &kept_versions)?;
    let (removed_objects, freed) = (removed_objects + removed_blobs, freed + freed_blobs);
    let _ = std::fs::remove_dir_all(store.join("tmp"));
    let _ = crate::store::create_dir(&store.join("tmp"));
    let _ = crate::store::history::append(
        &store,
        "gc",
        json!({ "removed_builds": removed_builds, "removed_objects": removed_objects, "freed_bytes": freed, "outcome": "succeeded" }),
    );
    if !context.quiet {
        #[allow(clippy::cast_precision_loss)]
        let megabytes = freed as f64 / 1_000_000.0;
        eprintln!(
            "removed {removed_builds} build(s) and {removed_objects} stored file(s), {megabytes:.1} MB; kept {} build(s)",
            keep.len()
        );
    }
    print("")?;
    Ok(exit_code::SUCCESS)
}

/// Removes the images of releases not kept (`dozen image`'s records, layer cache entries and
/// blobs no kept image uses; records first, blobs last, so a crash leaves only unreferenced
/// blobs); returns how many blobs and their size.
fn remove_unused_images(store: &Path, kept: &HashSet<u32>) -> Result<(usize, u64), Error> {
    let images = store.join("images");
    if !images.is_dir() {
        return Ok((0, 0));
    }
    let mut used: HashSet<String> = HashSet::new();
    for entry in std::fs::read_dir(&images).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(version) = name
            .strip_prefix('v')
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if !kept.contains(&version) {
            let _ = std::fs::remove_file(entry.path());
            continue;
        }
        let Ok(record) = std::fs::read(entry.path())
            .map_err(|e| e.to_string())
            .and_then(|b| {
                serde_json::from_slice::<serde_json::Value>(&b).map_err(|e| e.to_string())
            })
        else {
            continue;
        };
        used.extend(
            ["digest", "config"]
                .iter()
                .filter_map(|k| record[k].as_str().map(str::to_owned)),
        );
        for layer in record["layers"].as_array().into_iter().flatten() {
            used.extend(layer["digest"].as_str().map(str::to_owned));
        }
    }
    for entry in std::fs::read_dir(images.join("layers"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let cached = std::fs::read(entry.path())
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let in_use = cached
            .as_ref()
            .and_then(|c| c["digest"].as_str())
            .is_some_and(|d| used.contains(d));
        if !in_use {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let blobs = images.join("blobs");
    let (mut removed, mut freed) = (0, 0);
    for entry in std::fs::read_dir(blobs.join("sha256"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = format!("sha256:{}", entry.file_name().to_string_lossy());
        if !used.contains(&name) {
            freed += entry.metadata().map_or(0, |m| m.len());
            std::fs::remove_file(entry.path())
                .map_err(|e| Error::io(format!("cannot remove {}", entry.path().display()), e))?;
            removed += 1;
        }
    }
    // An interrupted base's unpacking.
    for entry in std::fs::read_dir(&blobs).into_iter().flatten().flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(".dozen-base-")
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    Ok((removed, freed))
}

/// Removes every object no kept build's tree lists; returns how many and their size.
fn remove_unreferenced_objects(
    store: &Path,
    keep: &HashSet<String>,
) -> Result<(usize, u64), Error> {
    let mut used: HashSet<String> = HashSet::new();
    for id in keep {
        let path = store.join("builds").join(format!("{id}.tree"));
        if !path.exists() {
            continue;
        }
        let tree = Tree::read(&path).map_err(|e| Error::failed(e.to_string()))?;
        used.extend(tree.entries.into_iter().filter_map(|e| match e.kind {
            Kind::File { object, .. } => Some(object),
            _ => None,
        }));
    }
    let (mut removed, mut freed) = (0, 0);
    for prefix in std::fs::read_dir(store.join("objects"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let prefix_name = prefix.file_name().to_string_lossy().into_owned();
        for object in std::fs::read_dir(prefix.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = format!("{prefix_name}{}", object.file_name().to_string_lossy());
            if !used.contains(&name) {
                freed += object.metadata().map_or(0, |m| m.len());
                std::fs::remove_file(object.path()).map_err(|e| {
                    Error::io(format!("cannot remove {}", object.path().display()), e)
                })?;
                removed += 1;
            }
        }
    }
    Ok((removed, freed))
}

/// The releases whose builds stay: the latest `keep` that succeeded (an interrupted, failed or
/// aborted release can never run, so it keeps nothing), the current one, and always the one
/// `dozen rollback` goes back to — the succeeded release before the current one.
fn kept_releases(releases: &[(Release, Status)], current: Option<u32>, keep: u32) -> Vec<&Release> {
    let succeeded = || {
        releases
            .iter()
            .rev()
            .filter(|(_, status)| *status == Status::Succeeded)
            .map(|(r, _)| r)
    };
    let rollback_target = current.and_then(|c| succeeded().find(|r| r.version < c));
    succeeded()
        .take(usize::try_from(keep).unwrap_or(usize::MAX))
        .chain(
            releases
                .iter()
                .map(|(r, _)| r)
                .filter(|r| Some(r.version) == current),
        )
        .chain(rollback_target)
        .collect()
}
