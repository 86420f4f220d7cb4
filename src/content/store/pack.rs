//! The article store on disk: one append-only pack file (`articles.pack`)
//! of records `[name: 16][length: u32 LE][payload]`: a source's payload is its
//! postcard bytes, which hash to its name; a rendered article's is the hash
//! of its postcard bytes, then those bytes. A torn tail (a crash while
//! appending) is cut off when the pack is opened; a record whose bytes do
//! not match their hash is treated as missing, so the caller reads the
//! record file again (or renders the source again) instead of trusting a
//! damaged copy.
//!
//! Beside it, `articles.toc` repeats the pack's record headers in order,
//! so that opening a pack of 100 000 records reads one small file instead
//! of 100 000 headers spread over 400 MB. It is only a shortcut: what it
//! names beyond the pack's end, or a last header the pack does not have at
//! that place, makes the pack be scanned instead, and the table is
//! written anew from the scan.

use rustc_hash::{FxHashMap, FxHashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, RwLock};
use std::thread::JoinHandle;

use super::{hash_of, rendered_name, ArticleHash, COMPACT_AT_BYTES};
use crate::content::record::ArticleSource;
use crate::model::Article;
use crate::state::write_whole;

/// The pack file, and where each record lies in it.
pub(super) struct Pack {
    pub(super) path: PathBuf,
    pub(super) file: RwLock<File>,
    /// Where each record is, once the scan begun by [`Pack::open`] is done:
    /// the first use waits for it, so a caller that reads the saved library
    /// meanwhile does not wait for 100 000 headers to be read.
    pub(super) slots: OnceLock<RwLock<Slots>>,
    /// The scan under way, until the first use takes its result.
    scan: Mutex<Option<JoinHandle<Slots>>>,
    /// The table of contents (`articles.toc`), appended to as the pack
    /// is; `None` once it could not be, until the next open writes it anew.
    toc: Mutex<Option<File>>,
}

/// The pack's table of contents.
#[derive(Default)]
pub(super) struct Slots {
    /// Where each record's payload is: offset and length.
    pub(super) at: FxHashMap<ArticleHash, (u64, u32)>,
    /// End of the pack, where the next record goes.
    end: u64,
    /// Records appended after `written`, not yet in the file: written in
    /// one piece when they reach [`PENDING_BYTES`] or at a
    /// [`flush`](ArticleStore::flush), instead of 100 000 small writes at
    /// a first start.
    pub(super) pending: Vec<u8>,
    /// Where the file ends.
    written: u64,
}

impl Slots {
    /// The bytes the records named in `live` take in the pack, headers
    /// included.
    fn bytes_of(&self, live: &FxHashSet<ArticleHash>) -> u64 {
        self.at
            .iter()
            .filter(|(hash, _)| live.contains(*hash))
            .map(|(_, (_, size))| HEADER + u64::from(*size))
            .sum()
    }

    /// Takes in the record whose `header` is at the end, if the pack (of
    /// `len` bytes) holds all of it; notes the header in `headers`.
    fn take(&mut self, header: &[u8], len: u64, headers: &mut Vec<u8>) -> bool {
        let size = header_size(header);
        if self.end + HEADER + u64::from(size) > len {
            return false;
        }
        let mut hash = [0; 16];
        hash.copy_from_slice(&header[..16]);
        self.at.insert(hash, (self.end + HEADER, size));
        self.end += HEADER + u64::from(size);
        headers.extend_from_slice(&header[..HEADER as usize]);
        true
    }
}

/// The header of a record in the pack: its name, then its payload length.
fn header_of(name: &ArticleHash, size: u32) -> [u8; HEADER as usize] {
    let mut header = [0; HEADER as usize];
    header[..16].copy_from_slice(name);
    header[16..].copy_from_slice(&size.to_le_bytes());
    header
}

/// The payload length a record header names.
fn header_size(header: &[u8]) -> u32 {
    u32::from_le_bytes([header[16], header[17], header[18], header[19]])
}

/// Bytes of records kept before they are written.
const PENDING_BYTES: usize = 1024 * 1024;

pub(super) const HEADER: u64 = 20;

/// The extension of the pack's table of contents, beside it.
pub(super) const TOC_EXTENSION: &str = "toc";

impl Drop for Pack {
    fn drop(&mut self) {
        if let Some(slots) = self.slots.get_mut() {
            let mut slots = std::mem::take(slots.get_mut().unwrap_or_else(|e| e.into_inner()));
            if let Err(e) = self.write_pending(&mut slots) {
                tracing::error!("cannot write {}: {e}", self.path.display());
            }
        }
    }
}

impl Pack {
    pub(super) fn open(path: &Path) -> io::Result<Pack> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let pack = Pack {
            path: path.to_path_buf(),
            slots: OnceLock::new(),
            scan: Mutex::new(None),
            file: RwLock::new(file.try_clone()?),
            toc: Mutex::new(None),
        };
        let scanning = path.to_path_buf();
        let scan = std::thread::Builder::new()
            .name("pack scan".into())
            .spawn(move || Pack::scan(&scanning, &file));
        match scan {
            Ok(scan) => *pack.scan.lock().unwrap_or_else(|e| e.into_inner()) = Some(scan),
            Err(_) => {
                let file = pack.file.read().unwrap_or_else(|e| e.into_inner());
                let _ = pack.slots.set(RwLock::new(Pack::scan(path, &file)));
            }
        }
        Ok(pack)
    }

    /// Reads the header of every record. A torn tail (a crash while
    /// appending) is cut off: its record is read again from its file. When
    /// the pack cannot be read, what was found so far is kept and new
    /// records go after the end.
    fn scan(path: &Path, file: &File) -> Slots {
        let started = std::time::Instant::now();
        let toc = std::fs::read(path.with_extension(TOC_EXTENSION)).ok();
        let (slots, headers) = Pack::scan_headers(path, file, toc.as_deref().unwrap_or_default());
        // Written anew when missing, or when it did not say all of the
        // pack, or more.
        if toc.as_ref() != Some(&headers) {
            let table = path.with_extension(TOC_EXTENSION);
            if let Err(e) = write_whole(&table, &headers) {
                tracing::warn!("cannot write {}: {e}", table.display());
                // Not appended to while it does not match the pack.
                let _ = std::fs::remove_file(&table);
            }
        }
        tracing::debug!(
            elapsed = ?started.elapsed(),
            articles = slots.at.len(),
            from_table = toc.map_or(0, |t| t.len()) / HEADER as usize,
            "article pack scanned"
        );
        slots
    }

    /// The slots of the pack, and its headers in order: those of `toc` the
    /// pack has, then those read from the pack after them.
    fn scan_headers(path: &Path, file: &File, toc: &[u8]) -> (Slots, Vec<u8>) {
        let mut slots = Slots::default();
        let len = match file.metadata() {
            Ok(meta) => meta.len(),
            Err(e) => {
                tracing::warn!("cannot read {}: {e}", path.display());
                return (slots, Vec::new());
            }
        };
        let mut headers = Vec::with_capacity(toc.len() + 4096);
        let mut header = [0u8; HEADER as usize];
        let mut last = None;
        for listed in toc.chunks_exact(HEADER as usize) {
            let at = slots.end;
            if !slots.take(listed, len, &mut headers) {
                break;
            }
            last = Some((at, listed));
        }
        // The table is believed if the pack has its last header where it
        // says (a damaged payload is caught by its hash when read).
        let believed = last.is_none_or(|(at, listed)| {
            file.read_exact_at(&mut header, at).is_ok() && header[..] == *listed
        });
        if !believed {
            slots = Slots::default();
            headers.clear();
        }
        while slots.end + HEADER <= len {
            if let Err(e) = file.read_exact_at(&mut header, slots.end) {
                tracing::warn!("cannot read {}: {e}", path.display());
                slots.end = len;
                slots.written = len;
                return (slots, headers);
            }
            if !slots.take(&header, len, &mut headers) {
                break;
            }
        }
        if slots.end < len {
            if let Err(e) = file.set_len(slots.end) {
                tracing::warn!("cannot cut the torn end of {}: {e}", path.display());
                slots.end = len;
            }
        }
        slots.written = slots.end;
        (slots, headers)
    }

    /// The table of contents, once the scan is done.
    pub(super) fn slots(&self) -> &RwLock<Slots> {
        self.slots.get_or_init(|| {
            let scan = self.scan.lock().unwrap_or_else(|e| e.into_inner()).take();
            // The scan never panics; if it did, the pack is treated as
            // unreadable and grows from its end.
            RwLock::new(scan.and_then(|s| s.join().ok()).unwrap_or_else(|| {
                let end = self
                    .file
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .metadata()
                    .map_or(0, |m| m.len());
                Slots {
                    end,
                    written: end,
                    ..Slots::default()
                }
            }))
        })
    }

    pub(super) fn append(&self, hash: ArticleHash, bytes: &[u8]) -> io::Result<()> {
        if self
            .slots()
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .at
            .contains_key(&hash)
        {
            return Ok(());
        }
        self.write_record(hash, bytes)
    }

    /// Appends a record named `name`; a later one replaces an earlier one.
    fn write_record(&self, name: ArticleHash, bytes: &[u8]) -> io::Result<()> {
        let size = u32::try_from(bytes.len()).map_err(|_| io::Error::other("article too large"))?;
        let mut slots = self.slots().write().unwrap_or_else(|e| e.into_inner());
        let end = slots.end;
        slots.pending.extend_from_slice(&header_of(&name, size));
        slots.pending.extend_from_slice(bytes);
        slots.at.insert(name, (end + HEADER, size));
        slots.end += HEADER + u64::from(size);
        if slots.pending.len() >= PENDING_BYTES {
            self.write_pending(&mut slots)?;
        }
        Ok(())
    }

    /// Writes the pending records to the file. If that fails (a full
    /// disk), they are dropped and read as missing, as if never stored: the
    /// caller reads their record files again, and memory does not grow
    /// with what the disk refuses.
    pub(super) fn write_pending(&self, slots: &mut Slots) -> io::Result<()> {
        if slots.pending.is_empty() {
            return Ok(());
        }
        let file = self.file.read().unwrap_or_else(|e| e.into_inner());
        let written = file.write_all_at(&slots.pending, slots.written);
        if written.is_ok() {
            slots.written += slots.pending.len() as u64;
            self.extend_toc(&slots.pending);
        } else {
            let end = slots.written;
            slots.at.retain(|_, (offset, _)| *offset < end);
            slots.end = end;
        }
        slots.pending.clear();
        written
    }

    /// Appends the headers of `records` (as written to the pack) to the
    /// table of contents. If that fails, the table is removed: the next
    /// open scans the pack and writes it anew.
    fn extend_toc(&self, records: &[u8]) {
        let mut headers = Vec::new();
        let mut rest = records;
        while rest.len() >= HEADER as usize {
            let size = header_size(rest) as usize;
            headers.extend_from_slice(&rest[..HEADER as usize]);
            rest = rest.get(HEADER as usize + size..).unwrap_or_default();
        }
        let mut toc = self.toc.lock().unwrap_or_else(|e| e.into_inner());
        if toc.is_none() {
            let opened = OpenOptions::new()
                .append(true)
                .open(self.path.with_extension(TOC_EXTENSION));
            *toc = opened.ok();
        }
        if let Some(file) = toc.as_mut() {
            if file.write_all(&headers).is_err() {
                *toc = None;
                let _ = std::fs::remove_file(self.path.with_extension(TOC_EXTENSION));
            }
        }
    }

    /// The payload of the record named `name`, if there is one.
    fn payload(&self, name: &ArticleHash) -> Option<Vec<u8>> {
        let slots = self.slots().read().unwrap_or_else(|e| e.into_inner());
        let (offset, size) = *slots.at.get(name)?;
        if offset >= slots.written {
            let start = usize::try_from(offset - slots.written).ok()?;
            return slots
                .pending
                .get(start..start + size as usize)
                .map(<[u8]>::to_vec);
        }
        drop(slots);
        let mut bytes = vec![0; size as usize];
        let file = self.file.read().unwrap_or_else(|e| e.into_inner());
        file.read_exact_at(&mut bytes, offset).ok()?;
        Some(bytes)
    }

    fn damaged(&self) {
        tracing::warn!(
            "{}: a damaged article; reading it again",
            self.path.display()
        );
    }

    /// The source named `hash`, if intact.
    pub(super) fn source(&self, hash: &ArticleHash) -> Option<ArticleSource> {
        let bytes = self.payload(hash)?;
        if hash_of(&bytes) != *hash {
            self.damaged();
            return None;
        }
        postcard::from_bytes(&bytes).ok()
    }

    /// The article rendered from the source named `hash`, if kept intact.
    pub(super) fn rendered(&self, hash: &ArticleHash) -> Option<Article> {
        let bytes = self.payload(&rendered_name(hash))?;
        let (check, article) = bytes.split_at_checked(16)?;
        if hash_of(article) != check {
            self.damaged();
            return None;
        }
        postcard::from_bytes(article).ok()
    }

    /// Keeps `article`, rendered from the source named `hash`.
    pub(super) fn keep_rendered(&self, hash: &ArticleHash, article: &Article) {
        let bytes = postcard::to_stdvec(article).unwrap_or_default();
        let mut payload = Vec::with_capacity(bytes.len() + 16);
        payload.extend_from_slice(&hash_of(&bytes));
        payload.extend_from_slice(&bytes);
        // Asked for only when absent or damaged: written in either case.
        if let Err(e) = self.write_record(rendered_name(hash), &payload) {
            tracing::error!("cannot write {}: {e}", self.path.display());
        }
    }

    /// The bytes of the pack taken by versions not in `live`, counting
    /// every rendered article as dead: more than a compaction can free.
    pub(super) fn dead_at_most(&self, live: &FxHashSet<ArticleHash>) -> u64 {
        let slots = self.slots().read().unwrap_or_else(|e| e.into_inner());
        slots.end.saturating_sub(slots.bytes_of(live))
    }

    pub(super) fn compact(&self, live: &FxHashSet<ArticleHash>) -> io::Result<()> {
        let mut slots = self.slots().write().unwrap_or_else(|e| e.into_inner());
        self.write_pending(&mut slots)?;
        let live_bytes = slots.bytes_of(live);
        let dead = slots.end.saturating_sub(live_bytes);
        if dead < COMPACT_AT_BYTES || dead < live_bytes {
            return Ok(());
        }
        self.rewrite(&mut slots, live)?;
        tracing::info!(freed = dead, "compacted the article store");
        Ok(())
    }

    /// Compacts whatever that frees (for tests).
    #[cfg(test)]
    pub(super) fn compact_now(&self, live: &FxHashSet<ArticleHash>) -> io::Result<()> {
        let mut slots = self.slots().write().unwrap_or_else(|e| e.into_inner());
        self.write_pending(&mut slots)?;
        self.rewrite(&mut slots, live)
    }

    /// Writes a pack of the `live` records beside this one and renames it
    /// over it.
    fn rewrite(&self, slots: &mut Slots, live: &FxHashSet<ArticleHash>) -> io::Result<()> {
        let mut file = self.file.write().unwrap_or_else(|e| e.into_inner());
        let temporary = self.path.with_extension("pack.new");
        let mut out = io::BufWriter::new(File::create(&temporary)?);
        let mut new_slots = FxHashMap::default();
        let mut headers = Vec::new();
        let mut offset = 0;
        let mut ordered: Vec<_> = slots.at.iter().filter(|(h, _)| live.contains(*h)).collect();
        ordered.sort_by_key(|(_, (at, _))| *at);
        for (hash, (at, size)) in ordered {
            let mut bytes = vec![0; *size as usize];
            file.read_exact_at(&mut bytes, *at)?;
            let header = header_of(hash, *size);
            out.write_all(&header)?;
            out.write_all(&bytes)?;
            headers.extend_from_slice(&header);
            new_slots.insert(*hash, (offset + HEADER, *size));
            offset += HEADER + u64::from(*size);
        }
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()?;
        // The old table goes first: a crash between the two renames leaves
        // a pack without one, which is scanned.
        let toc = self.path.with_extension(TOC_EXTENSION);
        *self.toc.lock().unwrap_or_else(|e| e.into_inner()) = None;
        match std::fs::remove_file(&toc) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        std::fs::rename(&temporary, &self.path)?;
        *file = OpenOptions::new().read(true).write(true).open(&self.path)?;
        if let Err(e) = write_whole(&toc, &headers) {
            tracing::warn!("cannot write {}: {e}", toc.display());
        }
        *slots = Slots {
            at: new_slots,
            end: offset,
            pending: Vec::new(),
            written: offset,
        };
        Ok(())
    }
}
