//! Tauri's build step (reads tauri.conf.json and the capabilities, checks the icons), plus one
//! convenience: while the UI is not built (`ui/dist` missing), the app embeds a placeholder page
//! that says so, instead of failing to compile — so `cargo build`, `cargo test` and `cargo clippy`
//! of the whole workspace work before `npm run build` has run. A `TAURI_CONFIG` set by the caller
//! always wins. It also embeds the git commit as `KEYWARD_COMMIT` (About, diagnostics, crash notes):
//! `unknown` outside a git checkout or without git, never a build failure.

use std::path::{Path, PathBuf};

const UI_DIST: &str = "../ui/dist";

const PLACEHOLDER: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Keyward</title></head>
<body><main><h1>Keyward</h1>
<p>The user interface was not built when this binary was compiled. Build it with
<code>npm --prefix ui ci && npm --prefix ui run build</code>, then rebuild the app.</p>
</main></body></html>
"#;

fn main() {
    println!("cargo:rerun-if-changed={UI_DIST}/index.html");
    embed_commit();
    println!("cargo:rerun-if-env-changed=TAURI_CONFIG");
    let ui_built = Path::new(UI_DIST).join("index.html").is_file();
    if !ui_built && std::env::var_os("TAURI_CONFIG").is_none() {
        match placeholder_dist() {
            Ok(dir) => {
                let dir = dir
                    .display()
                    .to_string()
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"");
                let config = format!(r#"{{"build":{{"frontendDist":"{dir}"}}}}"#);
                println!(
                    "cargo:warning=ui/dist is missing: this build shows a placeholder page instead of the UI"
                );
                // Read by tauri::generate_context! when the crate compiles (tauri_build does not
                // look at frontendDist, so it needs no override).
                println!("cargo:rustc-env=TAURI_CONFIG={config}");
            }
            Err(err) => println!("cargo:warning=could not write a placeholder UI: {err}"),
        }
    }
    tauri_build::build();
}

/// `KEYWARD_COMMIT`: the short hash of HEAD; `KEYWARD_COMMIT` set by the caller (a release pipeline
/// building from a tarball) wins. Rebuilt when HEAD moves (a commit, a checkout).
fn embed_commit() {
    println!("cargo:rerun-if-env-changed=KEYWARD_COMMIT");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .filter(|text| !text.is_empty())
    };
    let commit = std::env::var("KEYWARD_COMMIT")
        .ok()
        .filter(|text| !text.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    // The reflog of HEAD changes with every commit and checkout (also in a worktree).
    for path in ["HEAD", "logs/HEAD"] {
        if let Some(file) = git(&["rev-parse", "--path-format=absolute", "--git-path", path]) {
            println!("cargo:rerun-if-changed={file}");
        }
    }
    println!("cargo:rustc-env=KEYWARD_COMMIT={commit}");
}

fn placeholder_dist() -> std::io::Result<PathBuf> {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let dist = out_dir.join("placeholder-dist");
    std::fs::create_dir_all(&dist)?;
    std::fs::write(dist.join("index.html"), PLACEHOLDER)?;
    Ok(dist)
}
