//! Whether an account of this machine can reach a directory: the `User=` a systemd unit
//! names must be able to enter its `WorkingDirectory`, or the unit never starts.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

/// The first directory on the way to `path` (itself included) that the account `user`
/// cannot enter, by the modes, owners and groups on this machine, with its mode. `None`
/// when it can, or when this machine has no such account (the units are for another).
pub fn first_closed(user: &str, path: &Path) -> Option<(PathBuf, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let (uid, gids) = account(&passwd, &group, user)?;
    if uid == 0 {
        return None;
    }
    let mut closed = None;
    for dir in path.ancestors().collect::<Vec<_>>().into_iter().rev() {
        let Ok(metadata) = std::fs::metadata(dir) else {
            continue;
        };
        let mode = metadata.mode();
        let search = if metadata.uid() == uid {
            mode & 0o100
        } else if gids.contains(&metadata.gid()) {
            mode & 0o010
        } else {
            mode & 0o001
        };
        if search == 0 {
            closed = Some((dir.to_path_buf(), mode & 0o7777));
            break;
        }
    }
    closed
}

/// The uid of `user` and every group it is in, from `/etc/passwd` and `/etc/group` text.
fn account(passwd: &str, group: &str, user: &str) -> Option<(u32, Vec<u32>)> {
    let fields: Vec<&str> = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&user) && f.len() >= 4)?;
    let uid = fields[2].parse().ok()?;
    let mut gids = vec![fields[3].parse().ok()?];
    for line in group.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 4
            && f[3].split(',').any(|member| member == user)
            && let Ok(gid) = f[2].parse()
        {
            gids.push(gid);
        }
    }
    Some((uid, gids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_its_uid_and_every_group_it_is_in() {
        let passwd = "root:x:0:0::/root:/bin/sh\napp:x:1001:1001::/srv:/bin/sh\n";
        let group = "app:x:1001:\nwww:x:33:app,other\nadm:x:4:other\n";
        assert_eq!(account(passwd, group, "app"), Some((1001, vec![1001, 33])));
        assert_eq!(account(passwd, group, "nobody"), None);
    }

    #[test]
    fn a_private_directory_on_the_way_is_found() {
        if rustix::process::getuid().as_raw() == 65534 {
            return; // Run as nobody, the directories are nobody's own.
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let private = dir.path().join("store");
        let tree = private.join("trees/abc");
        std::fs::create_dir_all(&tree).unwrap();
        std::fs::set_permissions(
            &private,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        // `nobody` is in every Debian passwd; it owns none of this.
        let found = first_closed("nobody", &tree);
        assert_eq!(found, Some((private.clone(), 0o700)));
        assert_eq!(first_closed("root", &tree), None);
        assert_eq!(first_closed("no-such-account-here", &tree), None);
    }
}
