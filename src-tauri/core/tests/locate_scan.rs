//! Where each key lives, end to end: two profiles on two emulators over HTTP, a real completed
//! rotation (its old key left behind in a file, its new key deployed to an `.env` file and a
//! keychain entry), a rotated-in key deleted afterwards, and a generated tree with nested projects
//! (a folder chosen twice), a symlink loop, a link to outside, a dangling link, a file link to a
//! file scanned anyway, a huge file, a binary file holding a key, an unreadable folder, skipped
//! `.git`/`node_modules` folders and a key of nobody. The map must be exactly right; afterwards no
//! secret is anywhere in the data directory, the database or the log.
//!
//! The unreadable folder is real: tests run as root here and in CI, and root reads a 0000 folder,
//! so as root the test runs itself again as `nobody` (`setpriv`, from a copy of this binary in a
//! temporary folder nobody can read, since /root is private) and that run must pass.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use keyward_core::deploy::DeployTarget;
use keyward_core::ipc::{KeyDeleteArgs, ProfileAddArgs};
use keyward_core::locate::{PlaceKind, PlaceStatus, ProblemKind};
use keyward_core::rotation::{RotationPolicy, RotationStartArgs, RotationStatus};
use keyward_core::service::{LocateFolderArgs, LocateKeyArgs, LocateScanArgs};
use openrouter_emulator::{Emulator, EmulatorConfig};
use rotation_support::{configure, create_key};
use secrecy::SecretString;
use service_support::{TestService, list, start_with};

const CHILD_ENV: &str = "KEYWARD_LOCATE_TEST_CHILD";
const TEST_NAME: &str = "the_map_is_exact_and_no_secret_is_written";

fn is_root() -> bool {
    let probe = tempfile::NamedTempFile::new().unwrap();
    std::os::unix::fs::MetadataExt::uid(&probe.as_file().metadata().unwrap()) == 0
}

/// Runs this test again as `nobody` from a copy of the test binary; passes when that run passes.
fn rerun_as_nobody() {
    let bin_dir = tempfile::tempdir().unwrap();
    fs::set_permissions(bin_dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let copy = bin_dir.path().join("locate_scan");
    fs::copy(std::env::current_exe().unwrap(), &copy).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
    let home = tempfile::tempdir().unwrap();
    fs::set_permissions(home.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&copy)
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env("HOME", home.path())
        .env("TMPDIR", "/tmp")
        .output()
        .expect("setpriv runs (util-linux)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("--- run as nobody ---\n{stdout}\n{stderr}");
    assert!(output.status.success(), "the run as nobody failed");
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[test]
fn the_map_is_exact_and_no_secret_is_written() {
    if is_root() && std::env::var_os(CHILD_ENV).is_none() {
        return rerun_as_nobody();
    }
    let log = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer_log = Arc::clone(&log);
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || LogWriter(Arc::clone(&writer_log)))
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(scenario(&log));
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn add_profile(t: &TestService, name: &str, emulator: &Emulator) -> String {
    t.service
        .profile_add(ProfileAddArgs {
            name: name.into(),
            base_url: Some(emulator.base_url().to_owned()),
            workspace_id: None,
            management_key: SecretString::from(emulator.management_key().to_owned()),
        })
        .await
        .unwrap()
        .id
}

/// Rotates a key to completion (quiet 0 s, old key deleted at once) with `targets`.
async fn rotate(
    t: &TestService,
    profile_id: &str,
    hash: &str,
    targets: Vec<DeployTarget>,
) -> String {
    let mut policy = RotationPolicy::default_for(profile_id, hash);
    policy.targets = targets;
    policy.quiet_period_secs = 0;
    t.service.set_rotation_policy(policy).unwrap();
    let view = t
        .service
        .rotation_start(RotationStartArgs {
            profile_id: profile_id.into(),
            key_hash: hash.into(),
            delete_at_once: true,
            new_expiry: None,
        })
        .await
        .unwrap();
    assert_eq!(view.status, RotationStatus::Completed, "{view:#?}");
    view.new_key_hash.unwrap()
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn env_value(path: &Path, variable: &str) -> String {
    let text = fs::read_to_string(path).unwrap();
    let prefix = format!("{variable}=");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap()
        .trim_matches('"')
        .to_owned()
}

fn real(path: &Path) -> String {
    fs::canonicalize(path).unwrap().display().to_string()
}

/// Every file under `dir` (links not followed).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                found.push(entry.path());
            }
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

async fn scenario(log: &Arc<Mutex<Vec<u8>>>) {
    let work_emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let home_emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let events = Arc::new(rotation_support::RotationEvents::default());
    let sink_events = Arc::clone(&events);
    let t = start_with("locate", move |config, _| configure(config, &sink_events));
    let work = add_profile(&t, "Work", &work_emulator).await;
    let home = add_profile(&t, "Home", &home_emulator).await;

    let tree = tempfile::tempdir().unwrap();
    let root = tree.path();
    let proj_a = root.join("proj-a");
    let proj_b = proj_a.join("nested/proj-b");
    let proj_c = root.join("proj-c");
    let outside = tempfile::tempdir().unwrap();

    // Work: prod-api is rotated into proj-a/.env and a keychain entry; a stale copy of its old
    // secret stays in proj-a/.env.local.
    let (prod_hash, prod_old) = create_key(&t, &work, "prod-api").await;
    write(
        &proj_a.join(".env"),
        &format!("OPENROUTER_API_KEY={prod_old}\n"),
    );
    write(
        &proj_a.join(".env.local"),
        &format!("# forgotten\nOLD_KEY={prod_old}\n"),
    );
    let prod_new_hash = rotate(
        &t,
        &work,
        &prod_hash,
        vec![
            DeployTarget::EnvFile {
                path: proj_a.join(".env").display().to_string(),
                variable: "OPENROUTER_API_KEY".into(),
            },
            DeployTarget::Keychain {
                service: "my-app".into(),
                account: "prod".into(),
            },
        ],
    )
    .await;
    let prod_new = env_value(&proj_a.join(".env"), "OPENROUTER_API_KEY");
    assert_ne!(prod_new, prod_old);

    // Work: job is rotated into proj-c/.env.production, then its new key is deleted.
    let (job_hash, job_old) = create_key(&t, &work, "job").await;
    write(
        &proj_c.join(".env.production"),
        &format!("JOB_KEY={job_old}\n"),
    );
    let job_new_hash = rotate(
        &t,
        &work,
        &job_hash,
        vec![DeployTarget::EnvFile {
            path: proj_c.join(".env.production").display().to_string(),
            variable: "JOB_KEY".into(),
        }],
    )
    .await;
    let job_new = env_value(&proj_c.join(".env.production"), "JOB_KEY");
    t.service
        .key_delete(KeyDeleteArgs {
            profile_id: work.clone(),
            hash: job_new_hash.clone(),
        })
        .await
        .unwrap();

    // Work: web; Home: other-api (another profile); and a key of nobody.
    let (web_hash, web) = create_key(&t, &work, "web").await;
    let (other_hash, other) = create_key(&t, &home, "other-api").await;
    let nobody = format!("sk-or-v1-{}", "5eed".repeat(16));
    t.service.keys_list(list(&work, true)).await.unwrap();
    t.service.keys_list(list(&home, true)).await.unwrap();

    write(
        &proj_b.join(".env"),
        &format!("WEB_KEY={web}\nexport OTHER=\"{other}\"\nLABEL=sk-or-v1-d35...55d\n"),
    );
    write(
        &proj_c.join(".env.example"),
        &format!("# copy me\nX={nobody}\n"),
    );
    // Skipped folders, and a file that is not an env file.
    write(&proj_b.join(".git/.env"), &format!("K={web}\n"));
    write(&proj_a.join("node_modules/pkg/.env"), &format!("K={web}\n"));
    write(&proj_a.join("config.txt"), &format!("K={web}\n"));
    // A huge file and a binary file, each holding a key.
    let mut huge = format!("BIG={web}\n").into_bytes();
    huge.resize(2 * 1024 * 1024, b'#');
    write(&root.join("big/.env.huge"), "");
    fs::write(root.join("big/.env.huge"), huge).unwrap();
    let mut binary = vec![0u8, 1, 2, 3];
    binary.extend_from_slice(format!("K={web}\n").as_bytes());
    fs::write(root.join("big/.env.bin"), binary).unwrap();
    // Links: a loop, a folder outside (holding a key), a dangling one, a file link to a file the
    // scan reads anyway.
    symlink(&proj_a, proj_a.join("loop")).unwrap();
    write(&outside.path().join(".env"), &format!("K={web}\n"));
    symlink(outside.path(), proj_a.join("outside")).unwrap();
    symlink(root.join("missing.env"), proj_a.join(".env.dangling")).unwrap();
    symlink(proj_a.join(".env.local"), proj_b.join(".env.old")).unwrap();
    // An unreadable folder holding a key.
    let locked = root.join("locked");
    write(&locked.join(".env"), &format!("K={web}\n"));
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();

    // The tree and its nested project, both chosen: read once.
    for folder in [root.to_path_buf(), proj_a.join("nested")] {
        t.service
            .locate_folder_add(LocateFolderArgs {
                path: folder.display().to_string(),
            })
            .unwrap();
    }
    let relative = t.service.locate_folder_add(LocateFolderArgs {
        path: "proj-a".into(),
    });
    assert_eq!(relative.unwrap_err().kind(), "invalid_input");
    assert_eq!(t.service.locate_folders().unwrap().len(), 2);

    let progress = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&progress);
    let report = t
        .service
        .locate_scan(
            LocateScanArgs::default(),
            Arc::new(move |step| seen.lock().unwrap().push(step)),
        )
        .await
        .unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    assert!(!progress.lock().unwrap().is_empty());
    let summary = report.last_scan.clone().unwrap();
    assert!(summary.saved && !summary.cancelled, "{summary:#?}");

    // Live keys, each with exactly its places.
    let keys: Vec<(String, String, Vec<String>)> = report
        .keys
        .iter()
        .map(|key| {
            (
                key.profile_name.clone(),
                key.key_hash.clone(),
                key.places.iter().map(|place| place.describe()).collect(),
            )
        })
        .collect();
    let env_a = real(&proj_a.join(".env"));
    let env_b = real(&proj_b.join(".env"));
    assert_eq!(
        keys,
        [
            (
                "Home".to_owned(),
                other_hash.clone(),
                vec![format!("{env_b}:2 (OTHER)")]
            ),
            (
                "Work".to_owned(),
                prod_new_hash.clone(),
                vec![
                    format!("{env_a}:1 (OPENROUTER_API_KEY)"),
                    "keychain my-app / prod".to_owned()
                ]
            ),
            (
                "Work".to_owned(),
                web_hash.clone(),
                vec![format!("{env_b}:1 (WEB_KEY)")]
            ),
        ],
        "{report:#?}"
    );
    // The rest: the old key after its rotation, a deleted key, a key of nobody.
    let stale: Vec<(PlaceStatus, String, String)> = report
        .stale
        .iter()
        .map(|entry| {
            (
                entry.status,
                entry.place.key_hash.clone(),
                entry.place.describe(),
            )
        })
        .collect();
    assert_eq!(
        stale,
        [
            (
                PlaceStatus::RotatedAway,
                prod_hash.clone(),
                format!("{}:2 (OLD_KEY)", real(&proj_a.join(".env.local")))
            ),
            (
                PlaceStatus::Gone,
                job_new_hash.clone(),
                format!("{}:1 (JOB_KEY)", real(&proj_c.join(".env.production")))
            ),
            (
                PlaceStatus::Foreign,
                keyward_core::locate::secret_hash(nobody.as_bytes()),
                format!("{}:2 (X)", real(&proj_c.join(".env.example")))
            ),
        ],
        "{report:#?}"
    );
    assert!(
        report.stale[0].message.contains("is still in")
            && report.stale[0].message.contains("after the rotation"),
        "{}",
        report.stale[0].message
    );
    assert!(report.stale[1].message.contains("no longer exists"));
    assert!(report.stale[2].message.contains("belongs to no profile"));

    // What was skipped, and why.
    let mut problems: Vec<(ProblemKind, String)> = summary
        .problems
        .iter()
        .map(|problem| (problem.kind, problem.path.clone()))
        .collect();
    problems.sort();
    let mut expected = vec![
        (ProblemKind::TooLarge, real(&root.join("big/.env.huge"))),
        (ProblemKind::Binary, real(&root.join("big/.env.bin"))),
        (ProblemKind::Unreadable, format!("{}/locked", real(root))),
        (
            ProblemKind::LinkNotFollowed,
            format!("{}/outside", real(&proj_a)),
        ),
        (
            ProblemKind::BrokenLink,
            format!("{}/.env.dangling", real(&proj_a)),
        ),
    ];
    expected.sort();
    assert_eq!(problems, expected, "{summary:#?}");
    assert_eq!(
        summary.keychain_entries_checked, 1,
        "the rotated-in key's keychain target"
    );
    assert_eq!(summary.places_found, 7);

    // Stored: the report reads back the same; per key; rotation suggestions.
    let stored = t.service.locate_report().unwrap();
    assert_eq!(stored.keys, report.keys);
    assert_eq!(stored.stale, report.stale);
    let web_places = t
        .service
        .key_locations(LocateKeyArgs {
            profile_id: work.clone(),
            key_hash: web_hash.clone(),
        })
        .unwrap();
    assert_eq!(web_places.places.len(), 1);
    assert_eq!(web_places.places[0].kind, PlaceKind::EnvFile);
    assert!(web_places.places[0].modified_at.is_some());
    // The rotated-in key knows its old key still sits in proj-a/.env.local.
    let prod_places = t
        .service
        .key_locations(LocateKeyArgs {
            profile_id: work.clone(),
            key_hash: prod_new_hash.clone(),
        })
        .unwrap();
    assert_eq!(prod_places.places.len(), 2);
    assert_eq!(
        prod_places
            .replaced_key_places
            .iter()
            .map(|place| (place.key_hash.clone(), place.path.clone()))
            .collect::<Vec<_>>(),
        [(prod_hash.clone(), real(&proj_a.join(".env.local")))]
    );
    assert!(web_places.replaced_key_places.is_empty());
    let suggestions = |hash: &str| {
        t.service
            .locate_deploy_suggestions(LocateKeyArgs {
                profile_id: work.clone(),
                key_hash: hash.to_owned(),
            })
            .unwrap()
    };
    assert_eq!(
        suggestions(&web_hash),
        [DeployTarget::EnvFile {
            path: env_b.clone(),
            variable: "WEB_KEY".into()
        }]
    );
    // The rotated-in key's policy already deploys to proj-a/.env: nothing to suggest.
    assert!(suggestions(&prod_new_hash).is_empty());

    // A one-off scan of one folder is answered, not saved.
    let once = t
        .service
        .locate_scan(
            LocateScanArgs {
                folders: Some(vec![proj_c.display().to_string()]),
            },
            Arc::new(|_| {}),
        )
        .await
        .unwrap();
    assert!(!once.last_scan.as_ref().unwrap().saved);
    assert_eq!(once.stale.len(), 2);
    assert_eq!(t.service.locate_report().unwrap().keys, report.keys);

    // A cancelled scan saves nothing (cancel arrives from the first progress report).
    let service = t.service.clone();
    let cancelled = t
        .service
        .locate_scan(
            LocateScanArgs::default(),
            Arc::new(move |_| {
                service.locate_scan_cancel();
            }),
        )
        .await
        .unwrap();
    assert!(cancelled.last_scan.as_ref().unwrap().cancelled);
    assert!(!t.service.locate_scan_cancel(), "no scan runs any more");
    assert_eq!(t.service.locate_report().unwrap().stale, report.stale);

    // No secret anywhere Keyward writes: data directory (database, WAL), log.
    let secrets = [
        &prod_old, &prod_new, &job_old, &job_new, &web, &other, &nobody,
    ];
    let bodies: Vec<String> = secrets
        .iter()
        .map(|secret| secret.trim_start_matches("sk-or-v1-").to_owned())
        .collect();
    let mut checked = 0;
    for file in files_under(t.dir.path()) {
        let bytes = fs::read(&file).unwrap();
        for body in &bodies {
            assert!(!contains(&bytes, body), "a secret is in {}", file.display());
        }
        checked += 1;
    }
    assert!(checked >= 1);
    let logged = log.lock().unwrap().clone();
    assert!(contains(&logged, "scan finished"), "the log was captured");
    for body in &bodies {
        assert!(!contains(&logged, body), "a secret is in the log");
    }
    for hash in [&prod_hash, &job_hash] {
        assert!(!report.keys.iter().any(|key| &key.key_hash == hash));
    }
    drop(events);
}

/// The walk on its own: a FIFO named `.env` is not opened (it would block for ever), a missing
/// folder is reported, and a scan cancelled before it starts reads nothing.
#[test]
fn special_files_missing_folders_and_cancel() {
    use std::sync::atomic::AtomicBool;

    use keyward_core::locate::{ScanOptions, scan_folders};

    let tree = tempfile::tempdir().unwrap();
    let key = format!("sk-or-v1-{}", "9f".repeat(32));
    write(&tree.path().join("app/.env.ok"), &format!("K={key}\n"));
    let fifo = tree.path().join("app/.env");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let missing = tree.path().join("gone");
    let options = ScanOptions::new(
        vec![tree.path().to_path_buf(), missing.clone()],
        chrono::Utc::now(),
    );

    let scan = scan_folders(&options, &AtomicBool::new(false), &mut |_| {});
    assert!(!scan.cancelled);
    assert_eq!(scan.places.len(), 1);
    assert_eq!(
        scan.places[0].key_hash,
        keyward_core::locate::secret_hash(key.as_bytes())
    );
    assert_eq!(scan.problems.len(), 1, "{:?}", scan.problems);
    assert_eq!(scan.problems[0].kind, ProblemKind::Unreadable);
    assert_eq!(scan.problems[0].path, missing.display().to_string());

    let stopped = scan_folders(&options, &AtomicBool::new(true), &mut |_| {});
    assert!(stopped.cancelled);
    assert_eq!((stopped.dirs_scanned, stopped.places.len()), (0, 0));
}
