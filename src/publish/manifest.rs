//! The manifest: what the bucket holds, per site path the document's
//! fingerprint and a hash of its headers. Read once per run (two
//! conditional GETs say a site is unchanged), written at the end of a run
//! that changed something, when a run stops or fails, and after a phase
//! that put more bytes than the manifest has (so a killed first publish
//! resumes near where it was) — never before what it names is in the
//! bucket in the version it says.
//!
//! It is two objects, so that one edit does not rewrite an entry for each
//! of 128 000 documents (4.7 MB, a fifth of a second on Garage): the
//! *base* ([`PATH`]) holds every entry and an id; the *changes*
//! ([`CHANGES_PATH`]) hold what changed since the base with that id was
//! written, and are what a run writes. When they grow past an eighth of
//! the base, the base is written whole again (new id) and then the changes
//! emptied. Changes naming another base's id are not applied: a run
//! killed between the two writes leaves a base that is complete on its own.

use rustc_hash::FxHashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, Attributes, GetOptions, ObjectStore, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use super::PublishError;

/// Where the base lives, under the prefix; a dot folder, which no site
/// path uses.
pub const PATH: &str = ".stadtfeed/manifest";

/// Where the changes since the base live.
pub const CHANGES_PATH: &str = ".stadtfeed/manifest-changes";

/// Bumped when the format changes; an unknown one is treated as no
/// manifest (everything is put again once). Version 1 (a base without id
/// or changes) is still read.
const VERSION: u32 = 2;

/// The two objects of a bucket's manifest.
#[derive(Debug, Clone)]
pub struct Objects {
    /// The base, [`PATH`] under the prefix.
    pub base: ObjectPath,
    /// The changes, [`CHANGES_PATH`] under the prefix.
    pub changes: ObjectPath,
}

/// What the bucket holds.
#[derive(Debug, Default)]
pub struct Manifest {
    entries: FxHashMap<String, Entry>,
    /// The id of the base object `entries` started from; 0 for none (or a
    /// version 1 base, which no changes can name).
    base: u64,
    /// What changed since that base (`None`: deleted): written as the
    /// changes object.
    changes: FxHashMap<String, Option<Entry>>,
    /// Bytes of the base object as last read or written: about what
    /// writing it again costs.
    stored_size: u64,
}

/// One object as it was put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The document's fingerprint (its ETag when served).
    pub fingerprint: [u8; 16],
    /// [`headers_hash`] of its `Content-Type` and `Cache-Control`.
    pub headers: [u8; 8],
}

/// A short hash of the headers an object was put with: a changed
/// `Cache-Control` (a month that is over) means a new put.
pub fn headers_hash(content_type: &str, cache_control: &str) -> [u8; 8] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(content_type.as_bytes());
    hasher.update(b"\n");
    hasher.update(cache_control.as_bytes());
    let mut out = [0; 8];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    out
}

impl Manifest {
    /// The entry of a site path.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    /// Records a put.
    pub fn insert(&mut self, path: String, entry: Entry) {
        self.changes.insert(path.clone(), Some(entry));
        self.entries.insert(path, entry);
    }

    /// Records a deletion.
    pub fn remove(&mut self, path: &str) {
        if self.entries.remove(path).is_some() {
            self.changes.insert(path.to_owned(), None);
        }
    }

    /// Every site path the bucket holds.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// How many objects the bucket holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of the base object as last read or written.
    pub fn stored_size(&self) -> u64 {
        self.stored_size
    }

    /// Whether the bucket holds nothing of the site.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the next write is of the changes alone: there is a base to
    /// name, and the changes are at most an eighth of it.
    fn changes_suffice(&self) -> bool {
        self.base != 0 && self.changes.len() * 8 <= self.entries.len()
    }
}

/// The base object as written.
#[derive(Serialize)]
struct BaseRef<'a> {
    version: u32,
    id: u64,
    entries: &'a FxHashMap<String, Entry>,
}

/// The base object as read (version 2; version 1 had no `id`).
#[derive(Deserialize)]
struct Base {
    id: u64,
    entries: FxHashMap<String, Entry>,
}

/// The changes object.
#[derive(Serialize, Deserialize)]
struct Changes {
    version: u32,
    /// The id of the base they apply to.
    base: u64,
    changes: Vec<(String, Option<Entry>)>,
}

/// An object as last read or written, with the store's ETag for it, kept
/// in a file of the publisher's state: a run then asks for it only if it
/// changed (`If-None-Match`), so an unchanged run over a slow link costs
/// two 304s, not a large site's whole manifest. Another publisher's write
/// changes the ETag, so a stale copy is never used.
#[derive(Serialize, Deserialize)]
struct LocalCopy {
    etag: String,
    bytes: Vec<u8>,
    /// For the changes object only: the generation of the publisher's
    /// saved state whose site the manifest describes, when it does (a run
    /// that ended well).
    generation: Option<u64>,
}

impl LocalCopy {
    fn load(file: &Path) -> Option<LocalCopy> {
        postcard::from_bytes(&std::fs::read(file).ok()?).ok()
    }

    /// Keeps `bytes` under `etag`, or forgets the copy when the store gave
    /// no ETag. Written whole (temporary file, then rename); a failure only
    /// costs the next run a full read.
    fn store(file: &Path, etag: Option<&str>, bytes: &[u8], generation: Option<u64>) {
        let Some(etag) = etag else {
            let _ = std::fs::remove_file(file);
            return;
        };
        let copy = LocalCopy {
            etag: etag.to_owned(),
            bytes: bytes.to_vec(),
            generation,
        };
        // Serialising plain data into memory cannot fail.
        let encoded = postcard::to_stdvec(&copy).unwrap_or_default();
        let temporary = file.with_extension("tmp");
        if std::fs::write(&temporary, encoded).is_err()
            || std::fs::rename(&temporary, file).is_err()
        {
            let _ = std::fs::remove_file(&temporary);
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Where the copies of the two objects are kept: `file` for the base, and
/// beside it, for the changes.
fn copy_files(file: &Path) -> (PathBuf, PathBuf) {
    (file.to_path_buf(), file.with_extension("changes.bin"))
}

/// Records in the kept copy that the manifest describes the site of the
/// state with `generation` (after a run that changed nothing).
pub fn note_generation(file: &Path, generation: u64) {
    let (_, changes_file) = copy_files(file);
    if let Some(copy) = LocalCopy::load(&changes_file) {
        LocalCopy::store(
            &changes_file,
            Some(&copy.etag),
            &copy.bytes,
            Some(generation),
        );
    }
}

/// The manifest as read.
pub struct ManifestRead {
    /// What the bucket holds.
    pub manifest: Manifest,
    /// The generation of the publisher's state whose site it describes,
    /// when the store confirmed both kept copies (`304`) and the copy of
    /// the changes names one.
    pub generation: Option<u64>,
}

/// How one object was fetched.
enum Fetched {
    /// Sent by the store (new to this machine).
    Sent(Bytes),
    /// As the kept copy has it (`304`).
    Kept(LocalCopy),
    /// Not in the store.
    Missing,
}

/// Fetches `path`, conditionally on the copy in `file`, and keeps what the
/// store sent.
async fn fetch(
    store: &dyn ObjectStore,
    path: &ObjectPath,
    file: Option<&Path>,
) -> Result<Fetched, PublishError> {
    let copy = file.and_then(LocalCopy::load);
    let options = GetOptions {
        if_none_match: copy.as_ref().map(|c| c.etag.clone()),
        ..GetOptions::default()
    };
    let failed = |source| PublishError::Store {
        path: path.to_string(),
        source,
    };
    match (store.get_opts(path, options).await, copy) {
        (Ok(got), _) => {
            let etag = got.meta.e_tag.clone();
            let bytes = got.bytes().await.map_err(failed)?;
            if let Some(file) = file {
                LocalCopy::store(file, etag.as_deref(), &bytes, None);
            }
            Ok(Fetched::Sent(bytes))
        }
        (Err(object_store::Error::NotModified { .. }), Some(copy)) => {
            tracing::debug!("{path}: unchanged since the kept copy");
            Ok(Fetched::Kept(copy))
        }
        (Err(object_store::Error::NotFound { .. }), _) => {
            if let Some(file) = file {
                let _ = std::fs::remove_file(file);
            }
            Ok(Fetched::Missing)
        }
        (Err(source), _) => Err(failed(source)),
    }
}

/// The postcard bytes of a gzip-compressed object, if it is one.
fn gunzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut raw)
        .ok()?;
    Some(raw)
}

/// A base object's id and entries, of version 1 or 2.
fn decode_base(bytes: &[u8]) -> Option<Base> {
    let raw = gunzip(bytes)?;
    let (version, rest) = postcard::take_from_bytes::<u32>(&raw).ok()?;
    match version {
        1 => Some(Base {
            id: 0,
            entries: postcard::from_bytes(rest).ok()?,
        }),
        VERSION => postcard::from_bytes(rest).ok(),
        _ => None,
    }
}

/// A changes object.
fn decode_changes(bytes: &[u8]) -> Option<Changes> {
    postcard::from_bytes::<Changes>(&gunzip(bytes)?)
        .ok()
        .filter(|c| c.version == VERSION)
}

/// Reads the manifest; none (a new bucket or prefix) or one that cannot
/// be read is an empty one, so everything is put. With `local_copy` (a
/// file of the publisher's state), an unchanged object is not sent again.
pub async fn read(
    store: &dyn ObjectStore,
    objects: &Objects,
    local_copy: Option<&Path>,
) -> Result<ManifestRead, PublishError> {
    let files = local_copy.map(copy_files);
    let (base, changes) = tokio::join!(
        fetch(store, &objects.base, files.as_ref().map(|f| f.0.as_path())),
        fetch(
            store,
            &objects.changes,
            files.as_ref().map(|f| f.1.as_path())
        ),
    );
    let (base, changes) = (base?, changes?);
    let base_kept = matches!(base, Fetched::Kept(_));
    let base_bytes = match base {
        Fetched::Sent(bytes) => bytes,
        Fetched::Kept(copy) => Bytes::from(copy.bytes),
        Fetched::Missing => return Ok(ManifestRead::empty()),
    };
    let Some(decoded) = decode_base(&base_bytes) else {
        tracing::warn!(
            "{}: unreadable manifest; putting every object again",
            objects.base
        );
        return Ok(ManifestRead::empty());
    };
    let mut manifest = Manifest {
        entries: decoded.entries,
        base: decoded.id,
        changes: FxHashMap::default(),
        stored_size: base_bytes.len() as u64,
    };
    let changes_bytes = match &changes {
        Fetched::Sent(bytes) => Some(&bytes[..]),
        Fetched::Kept(copy) => Some(&copy.bytes[..]),
        Fetched::Missing => None,
    };
    let since_base = changes_bytes
        .and_then(decode_changes)
        .filter(|c| manifest.base != 0 && c.base == manifest.base);
    let applied = since_base.is_some();
    // Applied as the run that wrote them made them, so that they are
    // still among the changes the next write sends.
    for (path, entry) in since_base.map(|c| c.changes).unwrap_or_default() {
        match entry {
            Some(entry) => manifest.insert(path, entry),
            None => manifest.remove(&path),
        }
    }
    let generation = match &changes {
        Fetched::Kept(copy) if base_kept && applied => copy.generation,
        _ => None,
    };
    Ok(ManifestRead {
        manifest,
        generation,
    })
}

impl ManifestRead {
    fn empty() -> ManifestRead {
        ManifestRead {
            manifest: Manifest::default(),
            generation: None,
        }
    }
}

/// Puts `bytes` (a manifest object) at `path`; returns the store's ETag.
async fn put(
    store: &dyn ObjectStore,
    path: &ObjectPath,
    bytes: Bytes,
) -> Result<Option<String>, PublishError> {
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::ContentType, "application/octet-stream".into());
    attributes.insert(Attribute::CacheControl, "no-store".into());
    let put = store
        .put_opts(
            path,
            PutPayload::from(bytes),
            PutOptions {
                attributes,
                ..PutOptions::default()
            },
        )
        .await
        .map_err(|source| PublishError::Store {
            path: path.to_string(),
            source,
        })?;
    Ok(put.e_tag)
}

/// Gzip-compressed postcard of `value`.
fn encode(value: &impl Serialize) -> Bytes {
    // Serialising plain data into memory cannot fail.
    let raw = postcard::to_stdvec(value).unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(&raw);
    Bytes::from(gz.finish().unwrap_or_default())
}

/// Writes the manifest: its changes since the base, or, when those have
/// grown, the base whole and then empty changes; and the local copies if
/// kept (the changes' with the generation of the state whose site the
/// manifest describes, if it does).
pub async fn write(
    store: &dyn ObjectStore,
    objects: &Objects,
    manifest: &mut Manifest,
    local_copy: Option<(&Path, Option<u64>)>,
) -> Result<(), PublishError> {
    let files = local_copy.map(|(file, _)| copy_files(file));
    let generation = local_copy.and_then(|(_, generation)| generation);
    // Until a put is known to have landed, no copy of its object is
    // trusted.
    if let Some((_, changes_file)) = &files {
        let _ = std::fs::remove_file(changes_file);
    }
    if !manifest.changes_suffice() {
        if let Some((base_file, _)) = &files {
            let _ = std::fs::remove_file(base_file);
        }
        let id = crate::content::fresh_generation().max(1);
        let bytes = encode(&BaseRef {
            version: VERSION,
            id,
            entries: &manifest.entries,
        });
        let etag = put(store, &objects.base, bytes.clone()).await?;
        if let Some((base_file, _)) = &files {
            LocalCopy::store(base_file, etag.as_deref(), &bytes, None);
        }
        manifest.base = id;
        manifest.stored_size = bytes.len() as u64;
        manifest.changes.clear();
    }
    let mut changes: Vec<(String, Option<Entry>)> = manifest
        .changes
        .iter()
        .map(|(path, entry)| (path.clone(), *entry))
        .collect();
    changes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let bytes = encode(&Changes {
        version: VERSION,
        base: manifest.base,
        changes,
    });
    let etag = put(store, &objects.changes, bytes.clone()).await?;
    if let Some((_, changes_file)) = &files {
        LocalCopy::store(changes_file, etag.as_deref(), &bytes, generation);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    fn objects() -> Objects {
        Objects {
            base: ObjectPath::from(PATH),
            changes: ObjectPath::from(CHANGES_PATH),
        }
    }

    fn entry(n: u8) -> Entry {
        Entry {
            fingerprint: [n; 16],
            headers: [n; 8],
        }
    }

    fn entries(manifest: &Manifest) -> Vec<(String, Entry)> {
        let mut all: Vec<_> = manifest
            .entries
            .iter()
            .map(|(p, e)| (p.clone(), *e))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    async fn base_etag(store: &InMemory) -> Option<String> {
        let options = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        store
            .get_opts(&objects().base, options)
            .await
            .ok()?
            .meta
            .e_tag
    }

    #[tokio::test]
    async fn a_small_change_writes_the_changes_only_and_reads_back_whole() {
        let store = InMemory::new();
        let state = tempfile::tempdir().unwrap();
        let copy = state.path().join("manifest.bin");
        let mut manifest = Manifest::default();
        for n in 0..100 {
            manifest.insert(format!("artikel/{n}/index.html"), entry(n));
        }
        write(&store, &objects(), &mut manifest, Some((&copy, Some(7))))
            .await
            .unwrap();
        let base_before = base_etag(&store).await;

        manifest.insert("artikel/5/index.html".into(), entry(200));
        manifest.insert("artikel/neu/index.html".into(), entry(201));
        manifest.remove("artikel/9/index.html");
        write(&store, &objects(), &mut manifest, Some((&copy, Some(8))))
            .await
            .unwrap();
        assert_eq!(base_etag(&store).await, base_before, "the base was written");

        // Another machine, without copies, reads base and changes.
        let read_elsewhere = read(&store, &objects(), None).await.unwrap();
        assert_eq!(entries(&read_elsewhere.manifest), entries(&manifest));
        assert_eq!(read_elsewhere.generation, None);
        // This machine: both objects unchanged since its copies.
        let read_here = read(&store, &objects(), Some(&copy)).await.unwrap();
        assert_eq!(entries(&read_here.manifest), entries(&manifest));
        assert_eq!(read_here.generation, Some(8));

        // The changes read back are kept: the next write still has them.
        let mut again = read_here.manifest;
        again.insert("artikel/1/index.html".into(), entry(202));
        write(&store, &objects(), &mut again, None).await.unwrap();
        let read_last = read(&store, &objects(), None).await.unwrap();
        assert_eq!(read_last.manifest.get("artikel/9/index.html"), None);
        assert_eq!(
            read_last.manifest.get("artikel/5/index.html"),
            Some(&entry(200))
        );
        assert_eq!(
            read_last.manifest.get("artikel/1/index.html"),
            Some(&entry(202))
        );
    }

    #[tokio::test]
    async fn grown_changes_rewrite_the_base_and_stale_changes_are_ignored() {
        let store = InMemory::new();
        let mut manifest = Manifest::default();
        for n in 0..80 {
            manifest.insert(format!("p{n}"), entry(n));
        }
        write(&store, &objects(), &mut manifest, None)
            .await
            .unwrap();
        let first_base = base_etag(&store).await;
        // Eleven changes of eighty entries: more than an eighth.
        for n in 0..11 {
            manifest.insert(format!("p{n}"), entry(100 + n));
        }
        write(&store, &objects(), &mut manifest, None)
            .await
            .unwrap();
        assert_ne!(base_etag(&store).await, first_base);
        assert!(manifest.changes.is_empty());
        assert_eq!(
            entries(&read(&store, &objects(), None).await.unwrap().manifest),
            entries(&manifest)
        );

        // Changes that name another base (a run killed between writing
        // the base and emptying the changes) are not applied.
        let stale = encode(&Changes {
            version: VERSION,
            base: manifest.base + 1,
            changes: vec![("p1".into(), None)],
        });
        put(&store, &objects().changes, stale).await.unwrap();
        let read = read(&store, &objects(), None).await.unwrap();
        assert_eq!(read.manifest.get("p1"), Some(&entry(101)));
    }

    #[tokio::test]
    async fn a_version_1_manifest_is_read_and_replaced_by_a_base() {
        #[derive(Serialize)]
        struct Version1<'a> {
            version: u32,
            entries: &'a FxHashMap<String, Entry>,
        }
        let store = InMemory::new();
        let mut old = FxHashMap::default();
        old.insert("feed.rss".to_owned(), entry(1));
        let bytes = encode(&Version1 {
            version: 1,
            entries: &old,
        });
        put(&store, &objects().base, bytes).await.unwrap();
        let mut manifest = read(&store, &objects(), None).await.unwrap().manifest;
        assert_eq!(manifest.get("feed.rss"), Some(&entry(1)));
        manifest.insert("feed.atom".into(), entry(2));
        write(&store, &objects(), &mut manifest, None)
            .await
            .unwrap();
        let read = read(&store, &objects(), None).await.unwrap().manifest;
        assert_ne!(read.base, 0);
        assert_eq!(entries(&read), entries(&manifest));
    }
}
