//! `cargo xtask arch [--write] [--doc PATH]`: docs/ARCHITECTURE.md checked against the code.
//!
//! Three things in the page are checked, so that it cannot drift from the workspace:
//!
//! - the crate map table (`| crates/DIR | PACKAGE | … |`) has exactly one row per crate under
//!   `crates/`, with the package name `cargo metadata` reports for that directory;
//! - the dependency graph between `<!-- arch:begin -->` and `<!-- arch:end -->` is the one
//!   generated from the normal (not dev) dependencies between ferrtc crates; `--write`
//!   regenerates it, without `--write` any difference is an error that names the edges;
//! - in "The sans-IO rule", every `fn` of the signature block exists with that exact
//!   signature as a `pub fn` somewhere in `crates/*/src`, and every method listed in the
//!   state-machine table (`| crate | state machine | methods |`) is a `pub fn` of an inherent
//!   `impl` of that type in that crate.
//!
//! It also checks each crate's docs.rs front page: `readme = "README.md"` in its Cargo.toml,
//! a README.md with a ```` ```rust ```` example, and `#![doc = include_str!("../README.md")]`
//! in its lib.rs, so the example is a doctest that `cargo test --doc` runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

const BEGIN: &str = "<!-- arch:begin";
const END: &str = "<!-- arch:end -->";
const ARROW: &str = "──>";

/// One crate under `crates/`: its directory name, package name and the directory names of
/// the ferrtc crates it depends on (normal dependencies only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crate {
    pub dir: String,
    pub package: String,
    pub deps: BTreeSet<String>,
    /// The `readme` cargo metadata reports (from Cargo.toml).
    pub readme: Option<String>,
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut write = false;
    let mut doc_path = util::root().join("docs/ARCHITECTURE.md");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--write" => write = true,
            "--doc" => {
                doc_path = PathBuf::from(it.next().ok_or("--doc needs a path")?);
            }
            other => return Err(format!("unknown argument `{other}` (--write, --doc PATH)")),
        }
    }
    let root = util::root();
    let crates = crates_from_metadata(&metadata(&root)?, &root)?;
    let doc =
        std::fs::read_to_string(&doc_path).map_err(|e| format!("{}: {e}", doc_path.display()))?;
    let sources = Sources::read(&root.join("crates"))?;

    let mut errors = check_crate_map(&doc, &crates);
    let graph = render_graph(&crates)?;
    if write {
        let new = replace_generated(&doc, &graph)?;
        if new != doc {
            std::fs::write(&doc_path, &new).map_err(|e| format!("{}: {e}", doc_path.display()))?;
            eprintln!(
                "arch: rewrote the dependency graph in {}",
                doc_path.display()
            );
        }
    } else {
        errors.extend(check_graph(&doc, &crates, &graph));
    }
    errors.extend(check_sans_io(&doc, &sources));
    for c in &crates {
        let dir = root.join("crates").join(&c.dir);
        let readme = std::fs::read_to_string(dir.join("README.md")).ok();
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).ok();
        errors.extend(check_front_page(c, readme.as_deref(), lib.as_deref()));
    }

    if errors.is_empty() {
        eprintln!(
            "arch: {} agrees with cargo metadata ({} crates, {} edges) and the sources; every crate has its README front page",
            doc_path.display(),
            crates.len(),
            crates.iter().map(|c| c.deps.len()).sum::<usize>()
        );
        Ok(())
    } else {
        for e in &errors {
            eprintln!("arch: {e}");
        }
        Err(format!(
            "{} disagrees with the workspace in {} place(s) (graph: `cargo xtask arch --write`)",
            doc_path.display(),
            errors.len()
        ))
    }
}

/// `cargo metadata --format-version 1 --no-deps` of the workspace at `root`.
fn metadata(root: &Path) -> Result<serde_json::Value, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot start `{cargo} metadata`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata output: {e}"))
}

/// The crates under `root/crates/` with their normal dependencies on each other.
pub fn crates_from_metadata(meta: &serde_json::Value, root: &Path) -> Result<Vec<Crate>, String> {
    let packages = meta["packages"]
        .as_array()
        .ok_or("cargo metadata: no `packages` array")?;
    let crates_dir = root.join("crates");
    // package name -> directory name, for the packages under crates/
    let mut dir_of = BTreeMap::new();
    for p in packages {
        let name = p["name"].as_str().ok_or("package without a name")?;
        let manifest = PathBuf::from(p["manifest_path"].as_str().ok_or("no manifest_path")?);
        let Some(dir) = manifest.parent() else {
            continue;
        };
        if dir.parent() == Some(crates_dir.as_path()) {
            let d = dir
                .file_name()
                .and_then(|d| d.to_str())
                .ok_or("crate directory name is not UTF-8")?;
            dir_of.insert(name.to_string(), d.to_string());
        }
    }
    let mut out = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap_or_default();
        let Some(dir) = dir_of.get(name) else {
            continue;
        };
        let mut deps = BTreeSet::new();
        for d in p["dependencies"].as_array().into_iter().flatten() {
            // `kind` is null for normal dependencies, "dev" or "build" otherwise
            if !d["kind"].is_null() {
                continue;
            }
            if let Some(dep_dir) = d["name"].as_str().and_then(|n| dir_of.get(n)) {
                deps.insert(dep_dir.clone());
            }
        }
        out.push(Crate {
            dir: dir.clone(),
            package: name.to_string(),
            deps,
            readme: p["readme"].as_str().map(String::from),
        });
    }
    out.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(out)
}

/// Rows of the crate map table: `| crates/DIR | PACKAGE | … |` -> (DIR, PACKAGE).
fn crate_map_rows(doc: &str) -> Vec<(String, String)> {
    doc.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim().trim_matches('|').split('|').collect();
            let dir = cells.first()?.trim().strip_prefix("crates/")?;
            let package = cells.get(1)?.trim();
            Some((dir.to_string(), package.to_string()))
        })
        .collect()
}

/// Differences between the crate map table and the workspace.
pub fn check_crate_map(doc: &str, crates: &[Crate]) -> Vec<String> {
    let rows = crate_map_rows(doc);
    let mut errors = Vec::new();
    for c in crates {
        match rows.iter().filter(|(d, _)| *d == c.dir).collect::<Vec<_>>()[..] {
            [] => errors.push(format!(
                "crate map: no row for crates/{} ({})",
                c.dir, c.package
            )),
            [(_, p)] if *p == c.package => {}
            [(_, p)] => errors.push(format!(
                "crate map: crates/{} says package `{p}`, Cargo.toml says `{}`",
                c.dir, c.package
            )),
            _ => errors.push(format!("crate map: more than one row for crates/{}", c.dir)),
        }
    }
    for (d, p) in &rows {
        if !crates.iter().any(|c| c.dir == *d) {
            errors.push(format!(
                "crate map: row crates/{d} ({p}) but there is no such crate"
            ));
        }
    }
    errors
}

/// Layer of each crate: 0 without ferrtc dependencies, else one more than its highest
/// dependency. Errors on a cycle (cargo forbids them between normal dependencies anyway).
fn layers(crates: &[Crate]) -> Result<BTreeMap<String, usize>, String> {
    let mut layer = BTreeMap::new();
    while layer.len() < crates.len() {
        let before = layer.len();
        for c in crates {
            if layer.contains_key(&c.dir) {
                continue;
            }
            if c.deps.iter().all(|d| layer.contains_key(d)) {
                let l = c
                    .deps
                    .iter()
                    .filter_map(|d| layer.get(d))
                    .map(|l| l + 1)
                    .max()
                    .unwrap_or(0);
                layer.insert(c.dir.clone(), l);
            }
        }
        if layer.len() == before {
            return Err("the crate graph has a cycle or a dependency outside crates/".into());
        }
    }
    Ok(layer)
}

/// The generated graph section (without the markers): a text block, one line per crate with
/// dependencies (`crate ──> dep, dep`), crates grouped by layer.
pub fn render_graph(crates: &[Crate]) -> Result<String, String> {
    let layer = layers(crates)?;
    let top = layer.values().copied().max().unwrap_or(0);
    let mut s = String::from("```text\n");
    for l in 0..=top {
        let here: Vec<&Crate> = crates
            .iter()
            .filter(|c| layer.get(&c.dir) == Some(&l))
            .collect();
        let label = format!("layer {l}");
        let (leaves, inner): (Vec<&Crate>, Vec<&Crate>) =
            here.iter().partition(|c| c.deps.is_empty());
        let mut first = true;
        let prefix = |first: &mut bool| {
            let p = if *first {
                label.clone()
            } else {
                " ".repeat(label.len())
            };
            *first = false;
            p
        };
        if !leaves.is_empty() {
            let names: Vec<&str> = leaves.iter().map(|c| c.dir.as_str()).collect();
            s.push_str(&format!("{}   {}\n", prefix(&mut first), names.join("  ")));
        }
        for c in inner {
            let deps: Vec<&str> = c.deps.iter().map(String::as_str).collect();
            s.push_str(&format!(
                "{}   {} {ARROW} {}\n",
                prefix(&mut first),
                c.dir,
                deps.join(", ")
            ));
        }
    }
    s.push_str("```\n");
    Ok(s)
}

/// The text between the begin marker's line and the end marker, and the byte range it spans.
fn generated_range(doc: &str) -> Result<std::ops::Range<usize>, String> {
    let b = doc
        .find(BEGIN)
        .ok_or_else(|| format!("no `{BEGIN} -->` marker"))?;
    let start = doc[b..]
        .find('\n')
        .map(|i| b + i + 1)
        .ok_or("nothing after the begin marker")?;
    let end = doc[start..]
        .find(END)
        .map(|i| start + i)
        .ok_or_else(|| format!("no `{END}` marker after the begin marker"))?;
    Ok(start..end)
}

/// `doc` with the generated section replaced by `graph`.
pub fn replace_generated(doc: &str, graph: &str) -> Result<String, String> {
    let r = generated_range(doc)?;
    Ok(format!("{}{graph}{}", &doc[..r.start], &doc[r.end..]))
}

/// Edges (crate, dependency) and crates named in a generated section, read back.
fn parse_graph(section: &str) -> (BTreeSet<String>, BTreeSet<(String, String)>) {
    let mut names = BTreeSet::new();
    let mut edges = BTreeSet::new();
    for line in section.lines() {
        let mut l = line.trim();
        if l.starts_with("```") {
            continue;
        }
        if let Some(rest) = l.strip_prefix("layer ") {
            l = rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim();
        }
        if let Some((from, to)) = l.split_once(ARROW) {
            let from = from.trim().to_string();
            for d in to.split(',').map(str::trim).filter(|d| !d.is_empty()) {
                edges.insert((from.clone(), d.to_string()));
            }
            names.insert(from);
        } else {
            names.extend(l.split_whitespace().map(String::from));
        }
    }
    (names, edges)
}

/// Differences between the graph section of `doc` and `graph` (what metadata gives).
pub fn check_graph(doc: &str, crates: &[Crate], graph: &str) -> Vec<String> {
    let range = match generated_range(doc) {
        Ok(r) => r,
        Err(e) => return vec![format!("dependency graph: {e}")],
    };
    let section = &doc[range];
    if section == graph {
        return Vec::new();
    }
    let (names, edges) = parse_graph(section);
    let real: BTreeSet<(String, String)> = crates
        .iter()
        .flat_map(|c| c.deps.iter().map(|d| (c.dir.clone(), d.clone())))
        .collect();
    let mut errors = Vec::new();
    for (a, b) in real.difference(&edges) {
        errors.push(format!(
            "dependency graph: {a} depends on {b} (Cargo.toml) but the page lacks `{a} {ARROW} {b}`"
        ));
    }
    for (a, b) in edges.difference(&real) {
        errors.push(format!(
            "dependency graph: the page has `{a} {ARROW} {b}` but {a}'s Cargo.toml has no such normal dependency"
        ));
    }
    for c in crates {
        if !names.contains(&c.dir) {
            errors.push(format!("dependency graph: crate {} is missing", c.dir));
        }
    }
    for n in &names {
        if !crates.iter().any(|c| c.dir == *n) {
            errors.push(format!(
                "dependency graph: `{n}` is not a crate under crates/"
            ));
        }
    }
    if errors.is_empty() {
        errors.push("dependency graph: same edges, but not the generated layout".into());
    }
    errors
}

/// What is wrong with one crate's docs.rs front page (README.md, `readme`, lib.rs include).
pub fn check_front_page(c: &Crate, readme: Option<&str>, lib_rs: Option<&str>) -> Vec<String> {
    let mut errors = Vec::new();
    let name = &c.dir;
    if c.readme.as_deref() != Some("README.md") {
        errors.push(format!(
            "front page: crates/{name}/Cargo.toml lacks `readme = \"README.md\"`"
        ));
    }
    match readme {
        None => errors.push(format!("front page: crates/{name}/README.md is missing")),
        Some(r) if !r.contains("```rust\n") => errors.push(format!(
            "front page: crates/{name}/README.md has no ```rust example (a doctest)"
        )),
        Some(_) => {}
    }
    if !lib_rs.is_some_and(|l| l.contains("#![doc = include_str!(\"../README.md\")]")) {
        errors.push(format!(
            "front page: crates/{name}/src/lib.rs does not include README.md (#![doc = include_str!(\"../README.md\")])"
        ));
    }
    errors
}

/// The `.rs` files under `crates/*/src`, by crate directory.
pub struct Sources {
    files: BTreeMap<String, Vec<String>>,
}

impl Sources {
    fn read(crates_dir: &Path) -> Result<Self, String> {
        let mut files = BTreeMap::new();
        let entries =
            std::fs::read_dir(crates_dir).map_err(|e| format!("{}: {e}", crates_dir.display()))?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let mut texts = Vec::new();
            collect_rs(&e.path().join("src"), &mut texts);
            files.insert(name, texts);
        }
        Ok(Sources { files })
    }

    /// Sources from (crate dir, file text) pairs; for tests.
    #[cfg(test)]
    fn from_texts(texts: &[(&str, &str)]) -> Self {
        let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (c, t) in texts {
            files.entry(c.to_string()).or_default().push(t.to_string());
        }
        Sources { files }
    }

    /// The `pub fn` names of every inherent `impl TYPE` block in crate `dir` (line based:
    /// an `impl` at column 0 opens a block, a `}` at column 0 closes it).
    fn methods_of(&self, dir: &str, ty: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for text in self.files.get(dir).into_iter().flatten() {
            let mut current: Option<String> = None;
            for line in text.lines() {
                if let Some(rest) = line.strip_prefix("impl") {
                    current = impl_type(rest);
                } else if line.starts_with('}') {
                    current = None;
                } else if current.as_deref() == Some(ty) {
                    if let Some(rest) = line.trim_start().strip_prefix("pub fn ") {
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        found.insert(name);
                    }
                }
            }
        }
        found
    }

    /// Whether some `pub fn` in the crates has signature `sig` (`name(…) -> …`), compared
    /// with all whitespace removed (so rustfmt's line breaks do not matter).
    fn has_signature(&self, sig: &str) -> bool {
        let want = format!("pubfn{}{{", squeeze(sig));
        self.files
            .values()
            .flatten()
            .any(|t| squeeze(t).contains(&want))
    }
}

/// Text without whitespace and without trailing commas before `)`.
fn squeeze(s: &str) -> String {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    s.replace(",)", ")")
}

/// The type of an inherent impl from what follows `impl` on its line (`<R: X> Type<R> {`);
/// `None` for trait impls.
fn impl_type(rest: &str) -> Option<String> {
    if rest.contains(" for ") {
        return None;
    }
    let mut s = rest.trim_start();
    if s.starts_with('<') {
        let mut depth = 0usize;
        let mut end = 0;
        for (i, c) in s.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        s = s.get(end..)?.trim_start();
    }
    let name: String = s
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

fn collect_rs(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_rs(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            if let Ok(t) = std::fs::read_to_string(&p) {
                out.push(t);
            }
        }
    }
}

/// The section of `doc` under the heading `## title`, up to the next `## ` heading.
fn section<'a>(doc: &'a str, title: &str) -> Option<&'a str> {
    let start = doc.find(&format!("\n## {title}\n"))? + 1;
    let body = &doc[start..];
    let end = body[3..].find("\n## ").map_or(body.len(), |i| i + 4);
    Some(&body[..end])
}

/// The sans-IO section's signature block and state-machine table against the sources.
pub fn check_sans_io(doc: &str, sources: &Sources) -> Vec<String> {
    let Some(sec) = section(doc, "The sans-IO rule") else {
        return vec!["sans-IO: no `## The sans-IO rule` section".into()];
    };
    let mut errors = Vec::new();
    let block = sec
        .split("```rust\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap_or_default();
    let sigs: Vec<&str> = block
        .lines()
        .filter_map(|l| l.trim().strip_prefix("fn "))
        .map(|l| l.split(';').next().unwrap_or(l).trim())
        .collect();
    if sigs.is_empty() {
        errors.push("sans-IO: the signature block (```rust) names no `fn`".into());
    }
    for sig in sigs {
        if !sources.has_signature(sig) {
            errors.push(format!(
                "sans-IO: no `pub fn {sig}` in crates/*/src (the signature block is stale)"
            ));
        }
    }
    let mut rows = 0;
    for line in sec.lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        let [krate, ty, methods] = cells[..] else {
            continue;
        };
        let ty = ty.trim().trim_matches('`');
        let krate = krate.trim();
        if !ty.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
            continue; // the header and separator rows
        }
        rows += 1;
        let have = sources.methods_of(krate, ty);
        for m in methods.split(',').map(|m| m.trim().trim_matches('`')) {
            if !have.contains(m) {
                errors.push(format!(
                    "sans-IO: the table says {krate}'s `{ty}` has `{m}`, but no `impl {ty}` in crates/{krate}/src has `pub fn {m}`"
                ));
            }
        }
    }
    if rows == 0 {
        errors.push("sans-IO: no state-machine table (| crate | state machine | methods |)".into());
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `cargo metadata` document written out by hand: three crates under /ws/crates and
    /// xtask outside it; `c` depends on `a` and `b` (normal) and on `x` (dev).
    fn meta() -> serde_json::Value {
        serde_json::json!({ "packages": [
            { "name": "p-a", "manifest_path": "/ws/crates/a/Cargo.toml", "dependencies": [] },
            { "name": "p-b", "manifest_path": "/ws/crates/b/Cargo.toml", "dependencies": [
                { "name": "p-a", "kind": null } ] },
            { "name": "p-c", "manifest_path": "/ws/crates/c/Cargo.toml", "dependencies": [
                { "name": "p-a", "kind": null }, { "name": "p-b", "kind": null },
                { "name": "p-x", "kind": "dev" }, { "name": "serde", "kind": null } ] },
            { "name": "p-x", "manifest_path": "/ws/crates/x/Cargo.toml", "dependencies": [] },
            { "name": "xtask", "manifest_path": "/ws/xtask/Cargo.toml", "dependencies": [
                { "name": "p-c", "kind": null } ] }
        ]})
    }

    const GOOD: &str = "# t\n\n| directory | package | what |\n|---|---|---|\n\
        | crates/a | p-a | A |\n| crates/b | p-b | B |\n| crates/c | p-c | C |\n| crates/x | p-x | X |\n\n\
        <!-- arch:begin (generated) -->\n```text\nlayer 0   a  x\nlayer 1   b ──> a\nlayer 2   c ──> a, b\n```\n\
        <!-- arch:end -->\n";

    fn crates() -> Vec<Crate> {
        crates_from_metadata(&meta(), Path::new("/ws")).unwrap()
    }

    #[test]
    fn metadata_gives_normal_edges_between_crates_only() {
        let c = crates();
        let dirs: Vec<&str> = c.iter().map(|c| c.dir.as_str()).collect();
        assert_eq!(dirs, ["a", "b", "c", "x"]);
        let c_deps: Vec<&str> = c[2].deps.iter().map(String::as_str).collect();
        assert_eq!(c_deps, ["a", "b"]);
        assert_eq!(c[1].package, "p-b");
    }

    #[test]
    fn generated_graph_is_layered() {
        let g = render_graph(&crates()).unwrap();
        assert_eq!(
            g,
            "```text\nlayer 0   a  x\nlayer 1   b ──> a\nlayer 2   c ──> a, b\n```\n"
        );
        assert!(check_graph(GOOD, &crates(), &g).is_empty());
        assert!(check_crate_map(GOOD, &crates()).is_empty());
    }

    #[test]
    fn a_missing_edge_is_an_error_that_names_it() {
        let doc = GOOD.replace("c ──> a, b", "c ──> b");
        let g = render_graph(&crates()).unwrap();
        let errors = check_graph(&doc, &crates(), &g);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("c depends on a"), "{errors:?}");
        // --write puts it back
        assert_eq!(replace_generated(&doc, &g).unwrap(), GOOD);
    }

    #[test]
    fn an_edge_that_is_not_in_cargo_toml_is_an_error() {
        let doc = GOOD.replace("b ──> a", "b ──> a, x");
        let g = render_graph(&crates()).unwrap();
        let errors = check_graph(&doc, &crates(), &g);
        assert!(errors.iter().any(|e| e.contains("`b ──> x`")), "{errors:?}");
    }

    #[test]
    fn a_missing_crate_or_marker_is_an_error() {
        let g = render_graph(&crates()).unwrap();
        let doc = GOOD.replace("layer 0   a  x", "layer 0   a");
        let errors = check_graph(&doc, &crates(), &g);
        assert!(
            errors.iter().any(|e| e.contains("crate x is missing")),
            "{errors:?}"
        );
        let doc = GOOD.replace("<!-- arch:end -->", "");
        assert_eq!(check_graph(&doc, &crates(), &g).len(), 1);
    }

    #[test]
    fn crate_map_rows_must_match_packages() {
        let doc = GOOD.replace("| crates/b | p-b |", "| crates/b | p-bee |");
        let errors = check_crate_map(&doc, &crates());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("p-bee"));
        let doc = GOOD.replace("| crates/x | p-x | X |\n", "");
        assert_eq!(check_crate_map(&doc, &crates()).len(), 1);
    }

    const SANS_IO: &str = "# t\n\n## The sans-IO rule\n\n```rust\n\
        fn handle_timeout(&mut self, now: Instant);\n\
        fn poll_timeout(&self) -> Option<Instant>; // when\n```\n\n\
        | crate | state machine | methods |\n|---|---|---|\n\
        | a | `Assoc` | `handle_timeout`, `poll_timeout` |\n\n## Next\n\n| x | `Other` | `nope` |\n";

    fn src() -> Sources {
        Sources::from_texts(&[
            (
                "a",
                "impl<R: Rng> Assoc<R> {\n    pub fn poll_timeout(\n        &self,\n    ) -> Option<Instant> {\n        None\n    }\n}\n",
            ),
            (
                "a",
                "impl Assoc {\n    pub fn handle_timeout(&mut self, now: Instant) {}\n}\nimpl Drop for Assoc {\n    pub fn drop(&mut self) {}\n}\n",
            ),
        ])
    }

    #[test]
    fn front_page_needs_readme_example_and_include() {
        let mut c = crates().remove(0);
        let readme = "# p-a\n\n```rust\nassert_eq!(1 + 1, 2);\n```\n";
        let lib = "#![doc = include_str!(\"../README.md\")]\n//! more\n#![forbid(unsafe_code)]\n";
        assert_eq!(
            check_front_page(&c, Some(readme), Some(lib)).len(),
            1,
            "no readme field in the metadata"
        );
        c.readme = Some("README.md".into());
        assert!(check_front_page(&c, Some(readme), Some(lib)).is_empty());
        let errors = check_front_page(&c, Some("# p-a\n```text\nx\n```\n"), Some("//! docs\n"));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("no ```rust example"));
        assert!(errors[1].contains("does not include README.md"));
        assert!(check_front_page(&c, None, Some(lib))[0].contains("README.md is missing"));
    }

    #[test]
    fn sans_io_block_and_table_match_sources() {
        let errors = check_sans_io(SANS_IO, &src());
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn stale_sans_io_names_are_errors() {
        let doc = SANS_IO
            .replace(
                "fn handle_timeout(&mut self, now: Instant);",
                "fn handle_timeout(&mut self, now: Instant) -> bool;",
            )
            .replace("`poll_timeout` |", "`poll_timeout`, `poll_output` |");
        let errors = check_sans_io(&doc, &src());
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("handle_timeout(&mut self, now: Instant) -> bool"));
        assert!(errors[1].contains("`poll_output`"));
        // trait methods do not count as the type's own
        let doc = SANS_IO.replace("`poll_timeout` |", "`drop` |");
        assert_eq!(check_sans_io(&doc, &src()).len(), 1);
    }
}
