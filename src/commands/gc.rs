//! `dozen gc [--keep N]`: removes builds no recent release needs, then the stored files no
//! remaining build uses.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use serde_json::json;

use super::{Context, Inspection, print};
use crate::cli::GcArgs;
use crate::error::Error;
use crate::exit_code;
use crate::store::releases::Ledger;
use crate::store::tree::{Kind, Tree, remove_materialized};

pub(super) fn run(context: &Context, args: &GcArgs) -> Result<i32, Error> {
    let inspection = Inspection::valid_config(context, context.environment())?;
    let store = super::open_store(&inspection.app)?;
    let Some(_lock) = crate::store::try_lock_exclusive(&store)
        .map_err(|e| Error::io("cannot lock the store", e))?
    else {
        return Err(Error::failed(
            "the store is in use (a build, a release, or a run or exec of a release)",
        )
        .hint("run gc when they are done: it would remove builds they may need"));
    };
    let ledger = Ledger::open(&store).map_err(|e| Error::failed(e.to_string()))?;
    super::release::sync_history(&store, &ledger, None).map_err(Error::failed)?;
    let releases = ledger.list().map_err(|e| Error::failed(e.to_string()))?;
    let current = ledger.current().map_err(|e| Error::failed(e.to_string()))?;
    let keep_count = usize::try_from(args.keep).unwrap_or(usize::MAX);
    let mut keep: HashSet<String> = releases
        .iter()
        .rev()
        .take(keep_count)
        .map(|(r, _)| r.build.clone())
        .collect();
    keep.extend(
        releases
            .iter()
            .filter(|(r, _)| Some(r.version) == current)
            .map(|(r, _)| r.build.clone()),
    );

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
