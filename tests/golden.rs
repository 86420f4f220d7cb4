//! Every shipped document, byte for byte, against `tests/golden/`.
//! After a deliberate change: `UPDATE_GOLDEN=1 cargo test --test golden`.

mod common;

use std::path::Path;

use stadtfeed::site::plan::RENDERER_REVISION;

#[test]
fn shipped_documents_match_golden_files() {
    let (site, problems) = common::publish_dir(&common::shipped_feeds());
    assert!(problems.is_empty(), "{problems:?}");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    // The fingerprints (ETags) hash the plan and the renderer revision, not
    // the bytes: a change of output needs a new revision, or every replica
    // and cache would keep answering 304 with the old bytes.
    let revision_file = golden.with_extension("revision");
    let recorded: u32 = std::fs::read_to_string(&revision_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    if update {
        let changed = site.documents.iter().any(|(path, document)| {
            !path.starts_with("media/")
                && path != "favicon.ico"
                && std::fs::read(golden.join(path)).is_ok_and(|old| old[..] != document.body[..])
        });
        assert!(
            !changed || recorded != RENDERER_REVISION,
            "the output changed: raise RENDERER_REVISION in src/site/plan.rs, then update again"
        );
        let _ = std::fs::remove_dir_all(&golden);
        std::fs::write(&revision_file, format!("{RENDERER_REVISION}\n")).unwrap();
    }
    assert!(
        update || recorded == RENDERER_REVISION,
        "tests/golden was made with another RENDERER_REVISION; run UPDATE_GOLDEN=1 cargo test --test golden"
    );
    let mut checked = 0;
    for (path, document) in &site.documents {
        if path.starts_with("media/") || path == "favicon.ico" {
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
