//! The floors of the house, checked: every module imports only from floors below its own
//! (and, on one floor, only the neighbours `src/lib.rs` names). The rule and the floors
//! are written in the crate's docs (`Layout`); this test reads every source file and
//! fails naming the file and the import that climbs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The floor of each top-level module, lowest first.
const FLOORS: &[(&str, u8)] = &[
    ("domain", 0),
    ("learning", 1),
    ("import", 1),
    ("sim", 1),
    ("store", 2),
    ("config", 3),
    ("app", 3),
    ("cli", 4),
    ("bot", 4),
    ("http", 4),
    ("demo", 4),
    ("terminal", 4),
    ("startup", 4),
];

/// Imports allowed between modules of the same floor: `(from, to)`.
const SAME_FLOOR: &[(&str, &str)] = &[
    // The application layer reads the typed settings.
    ("app", "config"),
    // The command line starts the demo and `run`, and prints what the terminal prints.
    ("cli", "demo"),
    ("cli", "startup"),
    ("cli", "terminal"),
    ("demo", "terminal"),
    // `run` wires the bot (and the HTTP API) to the application.
    ("startup", "bot"),
    ("startup", "http"),
];

fn floor(module: &str) -> Option<u8> {
    FLOORS.iter().find(|(m, _)| *m == module).map(|(_, f)| *f)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/`: `src/bot/handlers/mod.rs` → `[bot, handlers]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The top-level modules a file imports: `crate::x`, `use crate::{x, y::z}`, and
/// `super::` chains that climb to the crate root.
fn imports(text: &str, path: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let name = ident(item.trim());
                    if !name.is_empty() {
                        out.insert(name);
                    }
                }
            } else {
                let name = ident(after);
                if !name.is_empty() {
                    out.insert(name);
                }
            }
            rest = after;
        }
        // `super::` chains: from a file at depth d, d `super`s reach the crate root.
        let mut rest = code;
        while let Some(i) = rest.find("super::") {
            let mut after = &rest[i..];
            let mut ups = 0;
            while let Some(a) = after.strip_prefix("super::") {
                ups += 1;
                after = a;
            }
            // A file's own module is `path`; `super` goes to its parent.
            if ups >= path.len() {
                let name = ident(after);
                if !name.is_empty() {
                    out.insert(name);
                }
            }
            rest = &rest[i + "super::".len() * ups..];
        }
    }
    out
}

#[test]
fn no_module_imports_from_a_floor_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut climbs = Vec::new();
    let mut checked = 0;
    for file in &files {
        let path = module_path(&src, file);
        let Some(top) = path.first().cloned() else {
            continue;
        };
        if top == "lib" || top == "main" {
            continue;
        }
        let Some(own) = floor(&top) else {
            climbs.push(format!(
                "{}: module `{top}` has no floor in this test (add it to FLOORS and to the Layout docs)",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for used in imports(&text, &path) {
            if used == top {
                continue;
            }
            let Some(theirs) = floor(&used) else {
                continue; // not a module of this crate (e.g. a macro or a type at the root)
            };
            checked += 1;
            let allowed = theirs < own
                || (theirs == own && SAME_FLOOR.contains(&(top.as_str(), used.as_str())));
            if !allowed {
                climbs.push(format!(
                    "{}: `{top}` (floor {own}) imports `{used}` (floor {theirs})",
                    file.display()
                ));
            }
        }
    }
    assert!(
        checked > 50,
        "the test saw too few imports ({checked}); is it reading src/?"
    );
    assert!(
        climbs.is_empty(),
        "imports that climb the house:\n{}",
        climbs.join("\n")
    );
}

#[test]
fn the_reader_finds_grouped_and_super_imports() {
    let path = vec!["bot".to_owned(), "handlers".to_owned()];
    let found = imports(
        "use crate::{app::App, store::Scope};\nuse super::super::cli::X; // crate::demo\nlet x = crate::config::Settings::default();",
        &path,
    );
    let found: Vec<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(found, ["app", "cli", "config", "store"]);
}
