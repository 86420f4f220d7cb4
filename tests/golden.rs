//! Every shipped document, byte for byte, against `tests/golden/`.
//! After a deliberate change: `UPDATE_GOLDEN=1 cargo test --test golden`.

mod common;

use std::path::Path;

#[test]
fn shipped_documents_match_golden_files() {
    let (site, problems) = common::publish_dir(&common::shipped_feeds());
    assert!(problems.is_empty(), "{problems:?}");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    if update {
        let _ = std::fs::remove_dir_all(&golden);
    }
    let mut checked = 0;
    for (path, document) in &site.documents {
        if path.starts_with("media/") {
            continue;
        }
        let file = golden.join(path);
        if update {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &document.body).unwrap();
        }
        let expected = std::fs::read_to_string(&file).unwrap_or_else(|_| {
            panic!(
                "{} is missing; run UPDATE_GOLDEN=1 cargo test --test golden",
                file.display()
            )
        });
        assert_eq!(
            String::from_utf8_lossy(&document.body),
            expected,
            "{path} differs from its golden file; if the change is deliberate, run UPDATE_GOLDEN=1 cargo test --test golden"
        );
        checked += 1;
    }
    // Every golden file is still produced (none left over from a removed document).
    let produced = walk(&golden).len();
    assert_eq!(
        produced, checked,
        "tests/golden holds files the site no longer produces"
    );
    assert!(checked > 40, "only {checked} documents");
}

#[test]
fn publishing_is_deterministic() {
    let (first, _) = common::publish_dir(&common::shipped_feeds());
    let (second, _) = common::publish_dir(&common::shipped_feeds());
    assert_eq!(first, second);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
