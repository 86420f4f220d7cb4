//! Deploys that replace the content directory, and accidents: the service
//! follows a swap by `mv`, by symlink and by `rm -rf` + re-create, keeps
//! the last good site while the directory is missing, and publishes an
//! emptied `articles/` only once it has stayed empty.

mod common;

use std::path::Path;
use std::time::Duration;

use common::server::{body_has, eventually, Running};
use common::{good_record, SITE_TOML};

const LIMIT: Duration = Duration::from_secs(5);

/// A content directory at `dir` with one record titled `title`.
fn content(dir: &Path, title: &str) {
    std::fs::create_dir_all(dir.join("articles")).unwrap();
    std::fs::write(dir.join("site.toml"), SITE_TOML).unwrap();
    std::fs::write(
        dir.join("articles/a.md"),
        good_record(title, "11.01.2022 10:00"),
    )
    .unwrap();
}

async fn healthz(server: &Running) -> String {
    String::from_utf8_lossy(&server.get("/healthz", &[]).await.body).into_owned()
}

/// After a swap, an edit in the new directory is published too.
async fn edit_is_published(server: &Running, dir: &Path) {
    std::fs::write(
        dir.join("articles/b.md"),
        good_record("Nach dem Wechsel", "12.01.2022 10:00"),
    )
    .unwrap();
    eventually(server, "/feed.rss", LIMIT, |r| {
        body_has(r, "Nach dem Wechsel")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swap_by_mv_is_followed() {
    let parent = tempfile::tempdir().unwrap();
    let feeds = parent.path().join("feeds");
    content(&feeds, "Alte Fassung");
    let server = Running::start(&feeds).await;
    content(&parent.path().join("feeds.new"), "Neue Fassung");
    std::fs::rename(&feeds, parent.path().join("feeds.old")).unwrap();
    std::fs::rename(parent.path().join("feeds.new"), &feeds).unwrap();
    eventually(&server, "/feed.rss", LIMIT, |r| body_has(r, "Neue Fassung")).await;
    edit_is_published(&server, &feeds).await;
    // The old folder is no longer watched.
    std::fs::write(
        parent.path().join("feeds.old/articles/c.md"),
        good_record("Im alten Ordner", "13.01.2022 10:00"),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!body_has(
        &server.get("/feed.rss", &[]).await,
        "Im alten Ordner"
    ));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swap_by_symlink_is_followed() {
    let parent = tempfile::tempdir().unwrap();
    let releases = parent.path().join("releases");
    content(&releases.join("1"), "Release eins");
    content(&releases.join("2"), "Release zwei");
    let current = parent.path().join("current");
    std::os::unix::fs::symlink(releases.join("1"), &current).unwrap();
    let server = Running::start(&current).await;
    // What deploy tools do: a new link, renamed over the old one.
    std::os::unix::fs::symlink(releases.join("2"), parent.path().join("current.tmp")).unwrap();
    std::fs::rename(parent.path().join("current.tmp"), &current).unwrap();
    eventually(&server, "/feed.rss", LIMIT, |r| body_has(r, "Release zwei")).await;
    edit_is_published(&server, &releases.join("2")).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_removed_keeps_the_site_until_it_is_back() {
    let parent = tempfile::tempdir().unwrap();
    let feeds = parent.path().join("feeds");
    content(&feeds, "Vor dem Löschen");
    let server = Running::start(&feeds).await;
    std::fs::remove_dir_all(&feeds).unwrap();
    // Gone for ten seconds: the last good site stays, /healthz says why.
    let started = std::time::Instant::now();
    eventually(&server, "/healthz", LIMIT, |r| body_has(r, "degraded")).await;
    assert!(healthz(&server).await.contains("last_good_load"));
    while started.elapsed() < Duration::from_secs(10) {
        let feed = server.get("/feed.rss", &[]).await;
        assert!(body_has(&feed, "Vor dem Löschen"), "the site got worse");
        assert_eq!(
            server.get("/artikel/a/", &[]).await.status,
            hyper::StatusCode::OK
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Re-created: published, and edits after it too.
    content(&feeds, "Neu angelegt");
    eventually(&server, "/feed.rss", LIMIT, |r| body_has(r, "Neu angelegt")).await;
    eventually(&server, "/healthz", LIMIT, |r| body_has(r, "\"ok\"")).await;
    edit_is_published(&server, &feeds).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_articles_folder_is_published_only_once_it_stays_empty() {
    let parent = tempfile::tempdir().unwrap();
    let feeds = parent.path().join("feeds");
    content(&feeds, "Einzige Meldung");
    let server = Running::start(&feeds).await;
    std::fs::remove_file(feeds.join("articles/a.md")).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(body_has(
        &server.get("/feed.rss", &[]).await,
        "Einzige Meldung"
    ));
    eventually(&server, "/feed.rss", Duration::from_secs(12), |r| {
        !body_has(r, "Einzige Meldung")
    })
    .await;
    server.stop().await;
}

/// A deploy that copies the directory anew (`cp -r`, a fresh `git
/// checkout`) gives every file a new inode and mtime; records whose bytes
/// and image are as before are known again without being parsed, and
/// what did change is read.
#[cfg(unix)]
#[test]
fn a_copied_directory_is_known_again_by_its_bytes() {
    use stadtfeed::content::store::ArticleStore;
    use stadtfeed::content::Library;
    use stadtfeed::model::ArticleId;
    use std::sync::Arc;

    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("feeds");
    content(&dir, "Eins");
    let shipped = common::shipped_feeds().join("media");
    std::fs::create_dir_all(dir.join("media")).unwrap();
    std::fs::copy(shipped.join("logo.png"), dir.join("media/bild.png")).unwrap();
    let with_image = |title: &str| {
        format!("+++\ntitle = \"{title}\"\ndate = \"12.01.2022\"\n[image]\nsrc = \"media/bild.png\"\n+++\nText\n")
    };
    std::fs::write(dir.join("articles/bild.md"), with_image("Mit Bild")).unwrap();
    std::fs::write(
        dir.join("articles/entwurf.md"),
        "+++\ntitle = \"E\"\ndate = \"13.01.2022\"\ndraft = true\n+++\nText\n",
    )
    .unwrap();
    let store = Arc::new(ArticleStore::memory());
    let mut library = Library::open(&dir, Arc::clone(&store));
    assert_eq!(library.records_parsed(), 3);
    let hashes = |library: &Library| {
        let index = library.index().unwrap();
        ["a", "bild"].map(|id| index.get(&ArticleId::new(id).unwrap()).unwrap().hash)
    };
    let before = hashes(&library);

    // The same bytes, copied anew and swapped in.
    let copy = |from: &Path, to: &Path| {
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(from)
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success());
    };
    let staged = parent.path().join("feeds.new");
    copy(&dir, &staged);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::rename(&staged, &dir).unwrap();
    library.refresh();
    assert_eq!(library.records_parsed(), 3, "nothing parsed again");
    assert_eq!(hashes(&library), before);
    assert!(library.problems().is_empty());

    // A record whose bytes changed is read.
    std::fs::write(
        dir.join("articles/a.md"),
        good_record("Zwei", "11.01.2022 10:00"),
    )
    .unwrap();
    library.refresh();
    assert_eq!(library.records_parsed(), 4);

    // An image replaced by another under its name: the record showing it
    // is read again, and measures the new file.
    std::fs::copy(
        shipped.join("2022/werdau-videokonferenz.jpg"),
        dir.join("media/bild.png"),
    )
    .unwrap();
    library.refresh();
    assert_eq!(library.records_parsed(), 5);
    let index = library.index().unwrap();
    let summary = index.get(&ArticleId::new("bild").unwrap()).unwrap();
    let image = store.get(&summary.hash).unwrap().image.clone().unwrap();
    assert_eq!(image.mime_type, "image/jpeg");
}
