//! Every page passes the Nu HTML Checker (the W3C's, `vnu.jar` from npm's
//! `vnu-jar`) without an error or a warning: the shipped site and a
//! generated 500-record one. `.ci/run` installs the checker and sets
//! `STADTFEED_REQUIRE_VNU=1`; elsewhere the test says it skipped when the
//! checker is not installed (see the README).

mod common;

use std::path::{Path, PathBuf};

use common::Fixture;

fn vnu_jar() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("VNU_JAR").map(PathBuf::from),
        Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(".ci/node/node_modules/vnu-jar/build/dist/vnu.jar"),
        ),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// Writes every HTML page of the content directory `feeds` under `out`.
fn write_pages(feeds: &Path, out: &Path) -> Vec<PathBuf> {
    let site = common::open(feeds).unwrap();
    let mut pages = Vec::new();
    for (path, document) in &site.documents {
        if path.ends_with(".html") {
            let file = out.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &document.body).unwrap();
            pages.push(file);
        }
    }
    pages
}

/// 500 records with the Markdown editors use: headings, lists, tables,
/// links, emphasis, quotes, images in the body.
fn generated_site() -> Fixture {
    let fixture = Fixture::new();
    let categories = [
        "Rathaus",
        "Kultur",
        "Polizei",
        "Baustellen",
        "Jugend & Soziales",
    ];
    for i in 0..500 {
        let (year, month, day) = (2020 + i / 100, 1 + (i / 9) % 12, 1 + i % 28);
        let body = format!(
            "Die Stadt informiert über **Vorhaben {i}**.\n\n### Hintergrund\n\n- erster Punkt\n- zweiter Punkt mit [Link](https://www.werdau.de/{i})\n\n> Zitat aus dem Stadtrat.\n\n| Tag | Programm |\n| --- | --- |\n| Montag | Beratung |\n\n![Ein Bild](media/2022/werdau-videokonferenz.jpg)\n\n#### Details\n\nMehr unter *Telefon 03761 594-0*.\n"
        );
        fixture.record(
            &format!("{year}/r{i}.md"),
            &format!(
                "+++\ntitle = \"Meldung {i}: Straße & Platz „{i}“\"\ndate = \"{day:02}.{month:02}.{year} 10:00\"\ncategories = [\"{}\", \"{}\"]\n{}+++\n{body}",
                categories[i % 5],
                categories[(i / 5) % 5],
                if i % 3 == 0 {
                    "[image]\nsrc = \"media/2022/werdau-videokonferenz.jpg\"\nalt = \"Videokonferenz\"\ncaption = \"Eine Konferenz.\"\n"
                } else {
                    ""
                }
            ),
        );
    }
    fixture
}

#[test]
fn every_page_passes_the_nu_html_checker() {
    let Some(jar) = vnu_jar() else {
        assert!(
            std::env::var_os("STADTFEED_REQUIRE_VNU").is_none(),
            "vnu.jar not found: .ci/run installs it (npm vnu-jar)"
        );
        eprintln!(
            "skipped: the Nu HTML Checker is not installed (npm install --prefix .ci/node vnu-jar)"
        );
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let mut pages = write_pages(&common::shipped_feeds(), &out.path().join("shipped"));
    let generated = generated_site();
    pages.extend(write_pages(generated.path(), &out.path().join("generated")));
    assert!(pages.len() > 600, "{} pages", pages.len());
    let output = std::process::Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .args(["--format", "gnu"])
        .args(&pages)
        .output()
        .expect("java runs");
    let messages = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && messages.trim().is_empty(),
        "the Nu HTML Checker on {} pages:\n{messages}",
        pages.len()
    );
}
