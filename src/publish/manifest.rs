//! The manifest object: what the bucket holds, per site path the
//! document's fingerprint and a hash of its headers. Read once per run
//! (one GET says a site is unchanged), written at the end of a run that
//! changed something, when a run stops or fails, and after a phase that
//! put more bytes than the manifest has (so a killed first publish resumes
//! near where it was) — never before what it names is in the bucket in
//! the version it says.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, Attributes, GetOptions, ObjectStore, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use super::PublishError;

/// Where the manifest lives, under the prefix; a dot folder, which no site
/// path uses.
pub const PATH: &str = ".stadtfeed/manifest";

/// Bumped when the format changes; an unknown one is treated as no
/// manifest (everything is put again once).
const VERSION: u32 = 1;

/// What the bucket holds.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    version: u32,
    entries: HashMap<String, Entry>,
    /// Bytes of the object as last read or written: about what writing it
    /// again costs.
    #[serde(skip)]
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
        self.entries.insert(path, entry);
    }

    /// Records a deletion.
    pub fn remove(&mut self, path: &str) {
        self.entries.remove(path);
    }

    /// Every site path the bucket holds.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// How many objects the bucket holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of the manifest object as last read or written.
    pub fn stored_size(&self) -> u64 {
        self.stored_size
    }

    /// Whether the bucket holds nothing of the site.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The manifest object as last read or written, with the store's ETag
/// for it, kept in a file of the publisher's state: a run then asks for
/// the manifest only if it changed (`If-None-Match`), so an unchanged run
/// over a slow link costs a 304, not a large site's whole manifest. Another publisher's write changes the ETag, so a stale copy
/// is never used.
#[derive(Serialize, Deserialize)]
struct LocalCopy {
    etag: String,
    bytes: Vec<u8>,
    /// The generation of the publisher's saved state whose site the
    /// manifest describes, when it does (a run that ended well).
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

/// Records in the kept copy that the manifest describes the site of the
/// state with `generation` (after a run that changed nothing).
pub fn note_generation(file: &Path, generation: u64) {
    if let Some(copy) = LocalCopy::load(file) {
        LocalCopy::store(file, Some(&copy.etag), &copy.bytes, Some(generation));
    }
}

/// The manifest as read.
pub struct ManifestRead {
    /// What the bucket holds.
    pub manifest: Manifest,
    /// The generation of the publisher's state whose site it describes,
    /// when the store confirmed the kept copy (`304`) and the copy names
    /// one.
    pub generation: Option<u64>,
}

/// Reads the manifest; none (a new bucket or prefix) or one that cannot
/// be read is an empty one, so everything is put. With `local_copy` (a
/// file of the publisher's state), an unchanged manifest is not sent again.
pub async fn read(
    store: &dyn ObjectStore,
    path: &ObjectPath,
    local_copy: Option<&Path>,
) -> Result<ManifestRead, PublishError> {
    let copy = local_copy.and_then(LocalCopy::load);
    let options = GetOptions {
        if_none_match: copy.as_ref().map(|c| c.etag.clone()),
        ..GetOptions::default()
    };
    let failed = |source| PublishError::Store {
        path: path.to_string(),
        source,
    };
    let (bytes, generation) = match (store.get_opts(path, options).await, copy) {
        (Ok(got), _) => {
            let etag = got.meta.e_tag.clone();
            let bytes = got.bytes().await.map_err(failed)?;
            if let Some(file) = local_copy {
                LocalCopy::store(file, etag.as_deref(), &bytes, None);
            }
            (bytes, None)
        }
        (Err(object_store::Error::NotModified { .. }), Some(copy)) => {
            tracing::debug!("{path}: unchanged since the kept copy");
            (Bytes::from(copy.bytes), copy.generation)
        }
        (Err(object_store::Error::NotFound { .. }), _) => {
            if let Some(file) = local_copy {
                let _ = std::fs::remove_file(file);
            }
            return Ok(ManifestRead {
                manifest: Manifest::default(),
                generation: None,
            });
        }
        (Err(source), _) => return Err(failed(source)),
    };
    let mut raw = Vec::new();
    let manifest = flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut raw)
        .ok()
        .and_then(|_| postcard::from_bytes::<Manifest>(&raw).ok())
        .filter(|m| m.version == VERSION);
    if manifest.is_none() {
        tracing::warn!("{path}: unreadable manifest; putting every object again");
    }
    let generation = generation.filter(|_| manifest.is_some());
    let mut manifest = manifest.unwrap_or_default();
    manifest.stored_size = bytes.len() as u64;
    Ok(ManifestRead {
        manifest,
        generation,
    })
}

/// Writes the manifest (gzip-compressed postcard, an entry per document),
/// and its local copy if one is kept (with the generation of the state
/// whose site it describes, if it does).
pub async fn write(
    store: &dyn ObjectStore,
    path: &ObjectPath,
    manifest: &mut Manifest,
    local_copy: Option<(&Path, Option<u64>)>,
) -> Result<(), PublishError> {
    /// [`Manifest`] as written, without copying the entries.
    #[derive(Serialize)]
    struct Written<'a> {
        version: u32,
        entries: &'a HashMap<String, Entry>,
    }
    let written = Written {
        version: VERSION,
        entries: &manifest.entries,
    };
    // Serialising plain data into memory cannot fail.
    let raw = postcard::to_stdvec(&written).unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(&raw);
    let bytes = gz.finish().unwrap_or_default();
    let size = bytes.len() as u64;
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::ContentType, "application/octet-stream".into());
    attributes.insert(Attribute::CacheControl, "no-store".into());
    if let Some((file, _)) = local_copy {
        // Until the put is known to have landed, no copy is trusted.
        let _ = std::fs::remove_file(file);
    }
    let put = store
        .put_opts(
            path,
            PutPayload::from(bytes.clone()),
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
    if let Some((file, generation)) = local_copy {
        LocalCopy::store(file, put.e_tag.as_deref(), &bytes, generation);
    }
    manifest.stored_size = size;
    Ok(())
}
