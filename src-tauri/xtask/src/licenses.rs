//! `cargo xtask licenses [--check]`: the list of the third-party libraries bundled in the app — the
//! Rust crates the `keyward` binary links (normal dependencies, transitively, on every platform it
//! ships for; not build scripts, proc macros, dev-dependencies or our own crates) from
//! `cargo metadata`, and the npm packages in ui/dist (the non-dev entries of ui/package-lock.json) —
//! written to [`OUTPUT`] for the About dialog. Committed; a test (and `--check`) fails when it is
//! stale, like the TypeScript bindings.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::Workspace;

/// The generated file, relative to the repository root.
pub const OUTPUT: &str = "ui/src/components/about/licenses.generated.ts";
/// The desktop app's package.
const APP_PACKAGE: &str = "keyward";

#[derive(clap::Args)]
pub struct LicensesArgs {
    /// Fail when the committed list differs from a fresh one instead of writing it.
    #[arg(long)]
    check: bool,
}

pub fn run(workspace: &Workspace, args: &LicensesArgs) -> anyhow::Result<()> {
    let fresh = generate(&workspace.root)?;
    let path = workspace.path(OUTPUT);
    if args.check {
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != fresh {
            bail!("{OUTPUT} is stale: run `cargo xtask licenses`");
        }
        println!("{OUTPUT} is up to date");
    } else {
        std::fs::write(&path, &fresh).with_context(|| format!("writing {OUTPUT}"))?;
        println!("wrote {OUTPUT}");
    }
    Ok(())
}

/// One bundled library.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Library {
    ecosystem: &'static str,
    name: String,
    version: String,
    license: String,
}

/// The generated file's text for the repository at `root`.
pub fn generate(root: &Path) -> anyhow::Result<String> {
    let output = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
        // Not --offline: a machine that built for one platform only may lack the manifests of the
        // other platforms' crates, which cargo then fetches (crates.io).
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root)
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: Value = serde_json::from_slice(&output.stdout).context("cargo metadata")?;
    let lock: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("ui/package-lock.json"))
            .context("reading ui/package-lock.json")?,
    )
    .context("ui/package-lock.json")?;
    let mut libraries = crates(&metadata)?;
    libraries.extend(npm_packages(&lock));
    Ok(render(&libraries))
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

/// The crates reachable from the app through normal dependencies.
fn crates(metadata: &Value) -> anyhow::Result<BTreeSet<Library>> {
    let packages: HashMap<&str, &Value> = metadata["packages"]
        .as_array()
        .context("cargo metadata has no packages")?
        .iter()
        .filter_map(|package| Some((package["id"].as_str()?, package)))
        .collect();
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .context("cargo metadata has no resolve graph")?
        .iter()
        .filter_map(|node| Some((node["id"].as_str()?, node)))
        .collect();
    let root = packages
        .iter()
        .find(|(_, package)| package["name"] == APP_PACKAGE && package["source"].is_null())
        .map(|(id, _)| *id)
        .context("no `keyward` package in the workspace")?;
    let proc_macro = |package: &Value| {
        package["targets"].as_array().is_some_and(|targets| {
            targets.iter().any(|target| {
                target["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|kind| kind == "proc-macro"))
            })
        })
    };
    let mut seen = HashSet::from([root]);
    let mut queue = VecDeque::from([root]);
    let mut libraries = BTreeSet::new();
    while let Some(id) = queue.pop_front() {
        let Some(node) = nodes.get(id) else { continue };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let normal = dep["dep_kinds"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|kind| kind["kind"].is_null()));
            let Some(dep_id) = dep["pkg"].as_str() else {
                continue;
            };
            if !normal || !seen.insert(dep_id) {
                continue;
            }
            let Some(package) = packages.get(dep_id) else {
                continue;
            };
            // Code that runs at compile time only is not in the binary.
            if proc_macro(package) {
                continue;
            }
            queue.push_back(dep_id);
            // Our own crates are the app itself.
            if package["source"].is_null() {
                continue;
            }
            libraries.insert(Library {
                ecosystem: "crate",
                name: text(package, "name"),
                version: text(package, "version"),
                license: package["license"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| "see its license file".to_owned()),
            });
        }
    }
    Ok(libraries)
}

/// The npm packages that end up in ui/dist: the lock file's entries not marked dev.
fn npm_packages(lock: &Value) -> BTreeSet<Library> {
    lock["packages"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(path, entry)| !path.is_empty() && entry["dev"] != true)
        .filter_map(|(path, entry)| {
            let name = path.rsplit_once("node_modules/")?.1.to_owned();
            Some(Library {
                ecosystem: "npm",
                name,
                version: text(entry, "version"),
                license: entry["license"].as_str().unwrap_or("unknown").to_owned(),
            })
        })
        .collect()
}

fn render(libraries: &BTreeSet<Library>) -> String {
    let mut out = String::from(
        "// Generated by `cargo xtask licenses` from `cargo metadata` and ui/package-lock.json. Do not edit.\n\
         /** A third-party library bundled in the app: a Rust crate in the binary or an npm package in ui/dist. */\n\
         export type BundledLibrary = { ecosystem: \"crate\" | \"npm\"; name: string; version: string; license: string };\n\n\
         export const BUNDLED_LIBRARIES: BundledLibrary[] = [\n",
    );
    for library in libraries {
        let entry = serde_json::json!({
            "ecosystem": library.ecosystem,
            "name": library.name,
            "version": library.version,
            "license": library.license,
        });
        out.push_str("  ");
        out.push_str(&entry.to_string());
        out.push_str(",\n");
    }
    out.push_str("];\n");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn the_committed_license_list_is_fresh() {
        let fresh = generate(&root()).unwrap();
        let committed = std::fs::read_to_string(root().join(OUTPUT)).unwrap_or_default();
        assert!(
            committed == fresh,
            "{OUTPUT} is stale: run `cargo xtask licenses`"
        );
        // The app's own big pieces are there, its build-time and test-only ones are not.
        for expected in [
            "\"name\":\"tauri\"",
            "\"name\":\"rusqlite\"",
            "\"name\":\"uplot\"",
            "\"name\":\"@tauri-apps/api\"",
        ] {
            assert!(fresh.contains(expected), "{expected}");
        }
        for absent in [
            "\"name\":\"tauri-build\"",
            "\"name\":\"serde_derive\"",
            "\"name\":\"roxmltree\"",
            "\"name\":\"vitest\"",
            "\"name\":\"keyward-core\"",
        ] {
            assert!(!fresh.contains(absent), "{absent}");
        }
    }
}
