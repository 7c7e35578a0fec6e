//! A reproducible layer: a directory tree as a tar under a prefix, gzip-compressed, its two
//! digests computed as it is written (docs/image.md). The same tree and settings give the
//! same bytes: entries in byte order of their paths, fixed owner and time, no names of users
//! or groups, no extended attributes, regular files for the store's hard links.

use std::io::{Read as _, Write};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use super::Hashing;

/// How the tree is laid into the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Where the tree goes, relative to the image root (`app` for `/app`).
    pub prefix: String,
    pub uid: u32,
    pub gid: u32,
    /// Every entry's modification time (seconds since the epoch).
    pub mtime: u64,
}

/// A written layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// `sha256:…` of the compressed bytes (the blob's name).
    pub digest: String,
    /// `sha256:…` of the uncompressed tar (the image config's `diff_id`).
    pub diff_id: String,
    /// Compressed size.
    pub size: u64,
    /// Bytes of file content read.
    pub input_bytes: u64,
}

/// Why a tree cannot be a layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: a path an image layer cannot hold (not UTF-8)")]
    NotUtf8(PathBuf),
    #[error("{0}: a {1} cannot go into an image layer")]
    Special(PathBuf, &'static str),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// One entry of the tree, by its path inside the layer.
pub struct Entry {
    /// Relative to the image root; a directory's ends with `/`.
    pub name: String,
    /// Where it is read from.
    pub source: PathBuf,
    pub kind: Kind,
    pub mode: u32,
}

pub enum Kind {
    Dir,
    /// Its size.
    File(u64),
    /// Its target, as written.
    Symlink(String),
}

/// Writes `tree` as an uncompressed tar (an `oci-archive`), reproducibly as a layer is.
pub fn write_plain(tree: &Path, settings: &Settings, out: impl Write) -> Result<u64, Error> {
    let entries = entries(tree, &settings.prefix)?;
    let mut tar = Hashing::new(out);
    for entry in &entries {
        write_entry(&mut tar, entry, settings)?;
    }
    let end = io(Path::new("(archive)"));
    tar.write_all(&[0; 1024]).map_err(end)?;
    let (mut out, _, size) = tar.finish();
    out.flush().map_err(io(Path::new("(archive)")))?;
    Ok(size)
}

/// Writes `tree` as a gzip-compressed layer to `out`; returns its digests and sizes.
pub fn write(tree: &Path, settings: &Settings, out: impl Write) -> Result<Layer, Error> {
    let entries = entries(tree, &settings.prefix)?;
    let compressed = Hashing::new(out);
    let encoder = Members::new(compressed);
    let mut tar = Hashing::new(encoder);
    let mut input_bytes = 0;
    for entry in &entries {
        write_entry(&mut tar, entry, settings)?;
        if let Kind::File(size) = entry.kind {
            input_bytes += size;
        }
    }
    let end = io(Path::new("(layer)"));
    tar.write_all(&[0; 1024]).map_err(end)?;
    let (encoder, diff_id, _) = tar.finish();
    let compressed = encoder.finish().map_err(io(Path::new("(layer)")))?;
    let (mut out, digest, size) = compressed.finish();
    out.flush().map_err(io(Path::new("(layer)")))?;
    Ok(Layer {
        digest,
        diff_id,
        size,
        input_bytes,
    })
}

/// The layer's entries for `tree` under `prefix`, in the order they are written: the
/// prefix's own directories (`srv/`, `srv/app/`), then the tree, by path bytes.
pub fn entries(tree: &Path, prefix: &str) -> Result<Vec<Entry>, Error> {
    let mut entries = Vec::new();
    let prefix = prefix.trim_matches('/');
    // The prefix's own directories (`srv/`, `srv/app/`), then the tree under it.
    let mut parent = String::new();
    for part in prefix.split('/').filter(|p| !p.is_empty()) {
        parent.push_str(part);
        parent.push('/');
        entries.push(Entry {
            name: parent.clone(),
            source: tree.to_owned(),
            kind: Kind::Dir,
            mode: 0o755,
        });
    }
    collect(tree, tree, &parent, &mut entries)?;
    entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(entries)
}

/// The entries under `dir` (relative to `root`), named under `prefix`.
fn collect(root: &Path, dir: &Path, prefix: &str, entries: &mut Vec<Entry>) -> Result<(), Error> {
    for item in std::fs::read_dir(dir).map_err(io(dir))? {
        let item = item.map_err(io(dir))?;
        let path = item.path();
        let relative = path.strip_prefix(root).expect("under the root");
        let Some(relative) = relative.to_str() else {
            return Err(Error::NotUtf8(path));
        };
        let meta = std::fs::symlink_metadata(&path).map_err(io(&path))?;
        let mode = meta.permissions().mode() & 0o7777;
        let file_type = meta.file_type();
        let name = format!("{prefix}{relative}");
        if file_type.is_dir() {
            entries.push(Entry {
                name: format!("{name}/"),
                source: path.clone(),
                kind: Kind::Dir,
                mode,
            });
            collect(root, &path, prefix, entries)?;
        } else if file_type.is_file() {
            entries.push(Entry {
                name,
                source: path,
                kind: Kind::File(meta.size()),
                mode,
            });
        } else if file_type.is_symlink() {
            let target = std::fs::read_link(&path).map_err(io(&path))?;
            let Some(target) = target.to_str() else {
                return Err(Error::NotUtf8(path));
            };
            entries.push(Entry {
                name,
                kind: Kind::Symlink(target.to_owned()),
                source: path,
                mode: 0o777,
            });
        } else {
            use std::os::unix::fs::FileTypeExt as _;
            let what = if file_type.is_fifo() {
                "named pipe"
            } else if file_type.is_socket() {
                "socket"
            } else {
                "device"
            };
            return Err(Error::Special(path, what));
        }
    }
    Ok(())
}

/// gzip's level: 1, the fastest (`miniz_oxide`: ~190 MB/s of input on this machine where 3
/// and above make ~45 MB/s, for a few percent of size on source trees). Fixed, as the
/// layer's digest depends on it.
const LEVEL: u32 = 1;

/// The longest name and link name a ustar header holds; longer ones go in a PAX header.
const USTAR_NAME: usize = 100;
/// The largest size a ustar header's 11 octal digits hold.
const USTAR_SIZE: u64 = 0o77_777_777_777;
/// The largest uid or gid a ustar header's 7 octal digits hold (2,097,151).
const USTAR_ID: u32 = 0o7_777_777;

fn write_entry(tar: &mut impl Write, entry: &Entry, settings: &Settings) -> Result<(), Error> {
    let (typeflag, size, link) = match &entry.kind {
        Kind::Dir => (b'5', 0, ""),
        Kind::File(size) => (b'0', *size, ""),
        Kind::Symlink(target) => (b'2', 0, target.as_str()),
    };
    let mut pax = Vec::new();
    if entry.name.len() > USTAR_NAME {
        pax_record(&mut pax, "path", entry.name.as_bytes());
    }
    if link.len() > USTAR_NAME {
        pax_record(&mut pax, "linkpath", link.as_bytes());
    }
    if size > USTAR_SIZE {
        pax_record(&mut pax, "size", size.to_string().as_bytes());
    }
    if settings.uid > USTAR_ID {
        pax_record(&mut pax, "uid", settings.uid.to_string().as_bytes());
    }
    if settings.gid > USTAR_ID {
        pax_record(&mut pax, "gid", settings.gid.to_string().as_bytes());
    }
    let failed = io(&entry.source);
    if !pax.is_empty() {
        let header = header(
            &pax_name(&entry.name),
            b'x',
            0o644,
            pax.len() as u64,
            "",
            settings,
        );
        tar.write_all(&header).map_err(io(&entry.source))?;
        tar.write_all(&pax).map_err(io(&entry.source))?;
        pad(tar, pax.len() as u64).map_err(io(&entry.source))?;
    }
    let header = header(&entry.name, typeflag, entry.mode, size, link, settings);
    tar.write_all(&header).map_err(io(&entry.source))?;
    if let Kind::File(size) = entry.kind {
        let mut file = std::fs::File::open(&entry.source).map_err(io(&entry.source))?;
        let copied = std::io::copy(&mut (&mut file).take(size), tar).map_err(failed)?;
        if copied != size {
            return Err(Error::Io {
                path: entry.source.clone(),
                source: std::io::Error::other("the file changed size while it was read"),
            });
        }
        pad(tar, size).map_err(io(&entry.source))?;
    }
    Ok(())
}

/// A ustar header block. Fields that do not fit (long names, huge sizes) are cut or zeroed:
/// the PAX header before it carries them.
fn header(
    name: &str,
    typeflag: u8,
    mode: u32,
    size: u64,
    link: &str,
    settings: &Settings,
) -> [u8; 512] {
    let mut block = [0u8; 512];
    let put = |block: &mut [u8; 512], at: usize, len: usize, bytes: &[u8]| {
        let n = bytes.len().min(len);
        block[at..at + n].copy_from_slice(&bytes[..n]);
    };
    let octal = |block: &mut [u8; 512], at: usize, len: usize, value: u64| {
        // len - 1 digits and a NUL, zero-padded.
        let digits = format!("{value:0width$o}", width = len - 1);
        let digits = if digits.len() > len - 1 {
            "0".repeat(len - 1)
        } else {
            digits
        };
        block[at..at + len - 1].copy_from_slice(digits.as_bytes());
        block[at + len - 1] = 0;
    };
    put(&mut block, 0, 100, name.as_bytes());
    octal(&mut block, 100, 8, u64::from(mode));
    // An id over ustar's is in the PAX header; here the field is zero, as GNU tar and Go's
    // archive/tar write it.
    let id = |id: u32| if id > USTAR_ID { 0 } else { u64::from(id) };
    octal(&mut block, 108, 8, id(settings.uid));
    octal(&mut block, 116, 8, id(settings.gid));
    octal(
        &mut block,
        124,
        12,
        size.min(USTAR_SIZE + 1) % (USTAR_SIZE + 1),
    );
    octal(&mut block, 136, 12, settings.mtime.min(USTAR_SIZE));
    block[156] = typeflag;
    put(&mut block, 157, 100, link.as_bytes());
    put(&mut block, 257, 6, b"ustar\0");
    put(&mut block, 263, 2, b"00");
    octal(&mut block, 329, 8, 0);
    octal(&mut block, 337, 8, 0);
    // The checksum: the sum of the header's bytes with its own field as spaces.
    block[148..156].copy_from_slice(b"        ");
    let sum: u32 = block.iter().map(|b| u32::from(*b)).sum();
    let digits = format!("{sum:06o}\0 ");
    block[148..156].copy_from_slice(digits.as_bytes());
    block
}

/// A PAX record: `LEN KEY=VALUE\n`, where LEN counts the whole record, itself included.
fn pax_record(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    let body = key.len() + value.len() + 3; // " ", "=", "\n"
    let mut len = body + body.to_string().len();
    if len.to_string().len() != body.to_string().len() {
        len += 1;
    }
    out.extend_from_slice(format!("{len} {key}=").as_bytes());
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// The name of an entry's PAX header: fixed by the entry's name, within ustar's 100 bytes.
fn pax_name(name: &str) -> String {
    let base = name.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let cut: String = base.chars().take(80).collect();
    format!("PaxHeaders/{cut}")
}

/// Zeros to the next 512-byte boundary after `size` bytes.
fn pad(tar: &mut impl Write, size: u64) -> std::io::Result<()> {
    let rest = (512 - size % 512) % 512;
    tar.write_all(&[0u8; 512][..usize::try_from(rest).unwrap_or(0)])
}

/// The tar is compressed in slices of this many bytes, each a gzip member of its own (their
/// concatenation is one gzip stream to every reader: RFC 1952's members), so that the cores
/// compress in parallel while the output stays a function of the input alone.
const SLICE: usize = 1024 * 1024;

/// A gzip writer that compresses [`SLICE`]s on every core, writing the members in order.
struct Members<W: Write> {
    inner: W,
    pending: Vec<Vec<u8>>,
    current: Vec<u8>,
    threads: usize,
}

impl<W: Write> Members<W> {
    fn new(inner: W) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self {
            inner,
            pending: Vec::new(),
            current: Vec::with_capacity(SLICE),
            threads,
        }
    }

    /// Compresses the pending slices (in parallel) and writes their members in order.
    fn compress(&mut self) -> std::io::Result<()> {
        let slices = std::mem::take(&mut self.pending);
        let per_thread = slices.len().div_ceil(self.threads.max(1)).max(1);
        let members: Vec<std::io::Result<Vec<u8>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = slices
                .chunks(per_thread)
                .map(|group| {
                    scope.spawn(move || group.iter().map(|s| member(s)).collect::<Vec<_>>())
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a compressing thread panicked"))
                .collect()
        });
        for member in members {
            self.inner.write_all(&member?)?;
        }
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<W> {
        if !self.current.is_empty() || self.pending.is_empty() {
            let last = std::mem::take(&mut self.current);
            self.pending.push(last);
        }
        self.compress()?;
        Ok(self.inner)
    }
}

/// One slice as a gzip member: fixed header (no name, mtime 0, OS 255), level [`LEVEL`].
fn member(slice: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(
            Vec::with_capacity(slice.len() / 2 + 64),
            flate2::Compression::new(LEVEL),
        );
    encoder.write_all(slice)?;
    encoder.finish()
}

impl<W: Write> Write for Members<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = SLICE - self.current.len();
        let n = buf.len().min(room);
        self.current.extend_from_slice(&buf[..n]);
        if self.current.len() == SLICE {
            let full = std::mem::replace(&mut self.current, Vec::with_capacity(SLICE));
            self.pending.push(full);
            if self.pending.len() >= self.threads * 4 {
                self.compress()?;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            prefix: "app".into(),
            uid: 0,
            gid: 0,
            mtime: 1_700_000_000,
        }
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("bin")).unwrap();
        std::fs::write(p.join("bin/start"), "#!/bin/sh\necho hi\n").unwrap();
        std::fs::set_permissions(p.join("bin/start"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        std::fs::write(p.join("a.txt"), "a").unwrap();
        std::fs::create_dir_all(p.join("a")).unwrap();
        std::fs::write(p.join("a/b"), vec![7u8; 1000]).unwrap();
        std::os::unix::fs::symlink("../a.txt", p.join("bin/link")).unwrap();
        let long = "d".repeat(60);
        std::fs::create_dir_all(p.join(&long)).unwrap();
        std::fs::write(p.join(&long).join("e".repeat(70)), "long").unwrap();
        std::os::unix::fs::symlink("x".repeat(150), p.join("far")).unwrap();
        dir
    }

    fn listing(bytes: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("layer.tar.gz"), bytes).unwrap();
        let out = std::process::Command::new("tar")
            .args(["--numeric-owner", "--full-time", "-tvzf"])
            .arg(dir.path().join("layer.tar.gz"))
            .env("TZ", "UTC")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn the_same_tree_gives_the_same_bytes_and_tar_reads_them() {
        let tree = tree();
        let mut first = Vec::new();
        let layer = write(tree.path(), &settings(), &mut first).unwrap();
        // Another copy of the tree, made in another order at another time: the same layer.
        let copy = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("cp")
            .args(["-a"])
            .arg(format!("{}/.", tree.path().display()))
            .arg(copy.path())
            .status()
            .unwrap();
        assert!(status.success());
        let mut second = Vec::new();
        let again = write(copy.path(), &settings(), &mut second).unwrap();
        assert_eq!(layer, again);
        assert_eq!(first, second);
        assert_eq!(layer.size, first.len() as u64);
        let sha = |b: &[u8]| {
            use sha2::Digest as _;
            super::super::sha256_name(&sha2::Sha256::digest(b))
        };
        assert_eq!(layer.digest, sha(&first));
        let mut tar = Vec::new();
        flate2::read::MultiGzDecoder::new(&first[..])
            .read_to_end(&mut tar)
            .unwrap();
        assert_eq!(layer.diff_id, sha(&tar));
        assert_eq!(layer.input_bytes, 18 + 1 + 1000 + 4);

        let list = listing(&first);
        let names: Vec<&str> = list
            .lines()
            .map(|l| l.rsplit_once(' ').map_or(l, |(_, n)| n))
            .collect();
        let long_dir = format!("app/{}/", "d".repeat(60));
        let long_file = format!("{long_dir}{}", "e".repeat(70));
        assert_eq!(names[..4], ["app/", "app/a.txt", "app/a/", "app/a/b"]);
        assert!(list.contains(&long_file), "{list}");
        assert!(
            list.contains(&format!("app/far -> {}", "x".repeat(150))),
            "{list}"
        );
        assert!(list.contains("app/bin/link -> ../a.txt"), "{list}");
        let start = list.lines().find(|l| l.ends_with("app/bin/start")).unwrap();
        assert!(start.starts_with("-rwxr-xr-x 0/0"), "{start}");
        assert!(start.contains("2023-11-14 22:13:20"), "{start}");
    }

    /// The bytes of a layer are its digest, and every image's digest follows from it: a change
    /// of the tar writer, the compressor or its level changes every image dozen makes. This
    /// pins them; a change that means to move them updates these digests in the same commit.
    #[test]
    fn a_layers_digests_are_pinned() {
        let tree = tree();
        // Modes as a umask of 022 leaves them, whatever this machine's umask is.
        for entry in crate::fsutil::every_path(tree.path()) {
            let meta = std::fs::symlink_metadata(&entry).unwrap();
            let mode = if meta.is_dir() || entry.ends_with("bin/start") {
                0o755
            } else if meta.is_file() {
                0o644
            } else {
                continue;
            };
            std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let layer = write(tree.path(), &settings(), std::io::sink()).unwrap();
        assert_eq!(
            (layer.digest.as_str(), layer.diff_id.as_str()),
            (GOLDEN_DIGEST, GOLDEN_DIFF_ID),
            "the layer's bytes changed"
        );
    }

    const GOLDEN_DIGEST: &str =
        "sha256:0f84ea85fcd90725357b0a11490aee1efd3750ee4fa5fbd4c6022b520b8df0ef";
    const GOLDEN_DIFF_ID: &str =
        "sha256:047e0b9abb800b222517139c990f57023949d53661416c5132363c50cbe1788d";

    #[test]
    fn ids_over_ustars_go_in_a_pax_header() {
        let tree = tempfile::tempdir().unwrap();
        std::fs::write(tree.path().join("f"), "x").unwrap();
        let big = Settings {
            uid: 3_000_000,
            gid: 2_097_152,
            ..settings()
        };
        let mut bytes = Vec::new();
        write(tree.path(), &big, &mut bytes).unwrap();
        let list = listing(&bytes);
        let file = list.lines().find(|l| l.ends_with("app/f")).unwrap();
        assert!(file.contains(" 3000000/2097152 "), "{list}");
        // Within ustar's: no PAX header, as before.
        let small = Settings {
            uid: 2_097_151,
            gid: 1000,
            ..settings()
        };
        let mut bytes = Vec::new();
        write(tree.path(), &small, &mut bytes).unwrap();
        let list = listing(&bytes);
        assert!(list.contains(" 2097151/1000 "), "{list}");
        assert!(!list.contains("PaxHeader"), "{list}");
    }

    #[test]
    fn a_layer_over_many_slices_is_one_gzip_stream_to_readers() {
        let tree = tempfile::tempdir().unwrap();
        // 3.5 MiB that does not compress to nothing.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let big: Vec<u8> = (0..3_670_016)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                b'a' + (state % 16) as u8
            })
            .collect();
        std::fs::write(tree.path().join("big"), &big).unwrap();
        let mut bytes = Vec::new();
        let layer = write(tree.path(), &settings(), &mut bytes).unwrap();
        assert!(layer.size < big.len() as u64);
        let out = tempfile::tempdir().unwrap();
        std::fs::write(out.path().join("layer.tar.gz"), &bytes).unwrap();
        let status = std::process::Command::new("tar")
            .args(["-xzf", "layer.tar.gz"])
            .current_dir(out.path())
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(std::fs::read(out.path().join("app/big")).unwrap(), big);
        // Four members at least, each with dozen's fixed header.
        let members = bytes
            .windows(4)
            .filter(|w| *w == [0x1f, 0x8b, 8, 0])
            .count();
        assert!(members >= 4, "{members}");
    }

    #[test]
    fn a_deep_prefix_gets_its_directories_and_owner_and_time_apply() {
        let tree = tree();
        let mut bytes = Vec::new();
        let settings = Settings {
            prefix: "/srv/app/".into(),
            uid: 1000,
            gid: 1001,
            mtime: 0,
        };
        write(tree.path(), &settings, &mut bytes).unwrap();
        let list = listing(&bytes);
        let first: Vec<&str> = list.lines().take(2).collect();
        assert!(
            first[0].ends_with(" srv/") && first[1].ends_with(" srv/app/"),
            "{list}"
        );
        assert!(list.lines().all(|l| l.contains(" 1000/1001 ")), "{list}");
        assert!(
            list.lines().all(|l| l.contains("1970-01-01 00:00:00")),
            "{list}"
        );
    }

    #[test]
    fn what_a_layer_cannot_hold_is_refused_by_name() {
        let tree = tempfile::tempdir().unwrap();
        let fifo = tree.path().join("pipe");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let error = write(tree.path(), &settings(), Vec::new()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: a named pipe cannot go into an image layer",
                fifo.display()
            )
        );
    }

    #[test]
    fn pax_records_count_their_own_length() {
        for len in [1, 80, 90, 95, 96, 97, 100, 990, 995, 996, 1000] {
            let mut out = Vec::new();
            pax_record(&mut out, "path", &vec![b'a'; len]);
            let text = String::from_utf8(out.clone()).unwrap();
            let declared: usize = text.split(' ').next().unwrap().parse().unwrap();
            assert_eq!(declared, out.len(), "{len}");
        }
    }
}
