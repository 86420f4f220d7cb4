//! `stadtfeed build`: the published site as files, each at its URL path, for
//! any static web server or CDN.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::site::PublishedSite;

/// Why the site could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct WriteError {
    /// The file or folder that failed.
    pub path: PathBuf,
    /// What the file system said.
    pub source: std::io::Error,
}

/// Writes every document under `out`; files already there that the site
/// does not name are left alone. Returns how many documents were written.
pub fn write_site(site: &PublishedSite, out: &Path) -> Result<usize, WriteError> {
    site.documents
        .par_iter()
        .try_for_each(|(url_path, document)| {
            let path = out.join(url_path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| WriteError {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            // Unchanged files keep their mtime, so rsync and CDN uploads skip them.
            if std::fs::read(&path).is_ok_and(|old| old == document.body) {
                return Ok(());
            }
            std::fs::write(&path, &document.body).map_err(|source| WriteError { path, source })
        })?;
    Ok(site.documents.len())
}
