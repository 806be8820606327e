//! Generates the UI's TypeScript types (`ui/src/lib/bindings/`): one file per Rust type (ts-rs), plus
//! `Commands.ts` (command → {args, result}) and `Events.ts` (event name → payload), both from the
//! Rust lists in `commands` and `events`, and `ErrorKinds.ts` (every `ErrorKind` as a value). A test
//! fails when the committed files are stale;
//! `cargo test -p keyward -- --ignored regenerate_bindings` rewrites them.

use std::any::TypeId;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use keyward_core::ErrorKind;
use strum::VariantArray;
use ts_rs::{TS, TypeVisitor};

use crate::commands;
use crate::events;

/// The committed bindings, relative to this crate.
pub const BINDINGS_DIR: &str = "../ui/src/lib/bindings";

/// ts-rs settings: u64/i64 (e.g. `retry_after_ms`) are plain JavaScript numbers.
pub fn ts_config(out_dir: &Path) -> ts_rs::Config {
    ts_rs::Config::new()
        .with_large_int("number")
        .with_out_dir(out_dir)
}

/// A TypeScript type expression plus the exported types it names.
pub struct TsType {
    /// e.g. `KeysSnapshot`, `Array<AppError>`, `null`.
    pub expression: String,
    /// Exported types named in `expression`.
    pub imports: BTreeSet<String>,
    roots: Vec<Root>,
}

/// An exported type and how to write its file (its dependencies with it).
struct Root {
    type_id: TypeId,
    export: fn(&ts_rs::Config) -> Result<(), ts_rs::ExportError>,
}

impl TsType {
    pub fn of<T: TS + 'static>() -> TsType {
        let cfg = ts_config(Path::new("."));
        let mut collector = Collector {
            cfg: &cfg,
            imports: BTreeSet::new(),
            roots: Vec::new(),
        };
        collector.visit::<T>();
        TsType {
            expression: T::name(&cfg),
            imports: collector.imports,
            roots: collector.roots,
        }
    }
}

struct Collector<'a> {
    cfg: &'a ts_rs::Config,
    imports: BTreeSet<String>,
    roots: Vec<Root>,
}

impl TypeVisitor for Collector<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        if T::output_path().is_some() {
            self.imports.insert(T::ident(self.cfg));
            self.roots.push(Root {
                type_id: TypeId::of::<T>(),
                export: export_all::<T>,
            });
        } else {
            // `Vec<AppError>`, `Option<T>`: what matters is inside.
            T::visit_generics(self);
        }
    }
}

fn export_all<T: TS + 'static + ?Sized>(cfg: &ts_rs::Config) -> Result<(), ts_rs::ExportError> {
    T::export_all(cfg)
}

const GENERATED_NOTE: &str = "// This file was generated from src-tauri/src by `cargo test -p keyward -- --ignored \
     regenerate_bindings`. Do not edit it by hand.\n";

/// Writes every binding into `dir` (created if needed). Returns the files written, by name.
pub fn generate(dir: &Path) -> io::Result<BTreeSet<String>> {
    fs::create_dir_all(dir)?;
    let cfg = ts_config(dir);
    let commands = commands::signatures();
    let events = events::signatures();

    let mut exported = HashSet::new();
    let all_types = commands
        .iter()
        .flat_map(|command| [&command.args, &command.result])
        .chain(events.iter().map(|(_, payload)| payload));
    for ts in all_types {
        for root in &ts.roots {
            if exported.insert(root.type_id) {
                (root.export)(&cfg).map_err(io::Error::other)?;
            }
        }
    }

    let mut imports = BTreeSet::new();
    let mut body = String::from(
        "/** Every command of the shell: `invoke(name, { args })` resolves to `result` or rejects with an `AppError`. */\nexport type Commands = {\n",
    );
    for command in &commands {
        imports.extend(command.args.imports.iter().cloned());
        imports.extend(command.result.imports.iter().cloned());
        let _ = writeln!(
            body,
            "  {}: {{ args: {}; result: {} }};",
            command.name, command.args.expression, command.result.expression
        );
    }
    body.push_str("};\n");
    fs::write(dir.join("Commands.ts"), with_imports(&imports, &body))?;

    let mut imports = BTreeSet::new();
    let mut body = String::from(
        "/** Every event the shell emits: `listen(name, e => …)` receives `e.payload` of this type. */\nexport type Events = {\n",
    );
    for (name, payload) in &events {
        imports.extend(payload.imports.iter().cloned());
        let _ = writeln!(body, "  \"{name}\": {};", payload.expression);
    }
    body.push_str("};\n");
    fs::write(dir.join("Events.ts"), with_imports(&imports, &body))?;

    fs::write(dir.join("ErrorKinds.ts"), error_kinds())?;

    list_ts_files(dir)
}

/// `ERROR_KINDS`: every `ErrorKind` as a value, so the UI can check a rejection at run time against
/// the same list the type comes from.
fn error_kinds() -> String {
    let names: Vec<String> = ErrorKind::VARIANTS
        .iter()
        .map(|kind| format!("\"{kind}\""))
        .collect();
    let body = format!(
        "/** Every `ErrorKind`, as values (e.g. to check a rejection at run time). */\nexport const ERROR_KINDS: readonly ErrorKind[] = [{}];\n",
        names.join(", ")
    );
    with_imports(&BTreeSet::from(["ErrorKind".to_owned()]), &body)
}

fn with_imports(imports: &BTreeSet<String>, body: &str) -> String {
    let mut text = String::from(GENERATED_NOTE);
    for name in imports {
        let _ = writeln!(text, "import type {{ {name} }} from \"./{name}\";");
    }
    text.push('\n');
    text.push_str(body);
    text
}

fn list_ts_files(dir: &Path) -> io::Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".ts") {
            names.insert(name);
        }
    }
    Ok(names)
}

/// How the files in `committed` differ from a fresh generation: missing, different or extra files.
pub fn stale_files(committed: &Path) -> io::Result<Vec<String>> {
    let fresh = tempfile_dir()?;
    let generated = generate(&fresh)?;
    let existing = if committed.is_dir() {
        list_ts_files(committed)?
    } else {
        BTreeSet::new()
    };
    let mut problems = Vec::new();
    let mut contents = BTreeMap::new();
    for name in &generated {
        contents.insert(name.clone(), fs::read_to_string(fresh.join(name))?);
    }
    for (name, text) in &contents {
        match fs::read_to_string(committed.join(name)) {
            Ok(current) if current == *text => {}
            Ok(_) => problems.push(format!("{name} differs")),
            Err(_) => problems.push(format!("{name} is missing")),
        }
    }
    for name in existing.difference(&generated) {
        problems.push(format!("{name} is not generated (remove it)"));
    }
    fs::remove_dir_all(&fresh)?;
    Ok(problems)
}

/// Replaces the committed bindings with a fresh generation (removing `.ts` files it does not make).
pub fn regenerate(committed: &Path) -> io::Result<BTreeSet<String>> {
    let fresh = tempfile_dir()?;
    let generated = generate(&fresh)?;
    fs::create_dir_all(committed)?;
    for stale in list_ts_files(committed)?.difference(&generated) {
        fs::remove_file(committed.join(stale))?;
    }
    for name in &generated {
        fs::copy(fresh.join(name), committed.join(name))?;
    }
    fs::remove_dir_all(&fresh)?;
    Ok(generated)
}

fn tempfile_dir() -> io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "keyward-bindings-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Points the freshness check and `regenerate_bindings` at another directory (e.g. a scratch copy).
pub const BINDINGS_DIR_ENV: &str = "KEYWARD_BINDINGS_DIR";

/// The committed bindings directory (from this crate's manifest directory), or `KEYWARD_BINDINGS_DIR`.
pub fn committed_dir() -> PathBuf {
    match std::env::var_os(BINDINGS_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(BINDINGS_DIR),
    }
}
