//! The vault against a REAL Secret Service (gnome-keyring under `dbus-run-session`), read back with
//! `secret-tool` to prove the entries really are there, plus the failure modes a person meets: no
//! D-Bus session, no Secret Service, a locked keyring. Each test uses its own service name, so tests
//! never collide with each other or with real entries.
//!
//! Run by `cargo xtask test`; by hand, in the private desktop session script:
//! `tests/session.sh -- cargo test -p keyward-core --test keychain -- --include-ignored`
//!
//! The failure modes run in child processes: each such test re-executes this binary filtered to itself,
//! with a marker variable and a different environment (changing the environment in-process is unsafe);
//! in the child it runs the checks and prints a marker, in the parent it checks the child's result.

// The Secret Service, secret-tool and dbus-run-session are Linux's; other OSes' keychains are
// exercised by the same vault code but not tested here.
#![cfg(target_os = "linux")]
// Helpers outside #[test] functions panic on failure too; .clippy.toml only covers the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use keyward_core::Error;
use keyward_core::store::{NewProfile, NewSecretIndexEntry, ProfileManager, SecretState, Store};
use keyward_core::vault::{KeychainEntry, Vault};
use secrecy::{ExposeSecret, SecretString};

/// Set in a child process to say which failure mode it is there to check.
const CHILD_ENV: &str = "KEYWARD_KEYCHAIN_TEST_CHILD";
/// Printed by a child whose checks all passed; the parent looks for it.
const CHILD_PASSED: &str = "KEYWARD-CHILD-CHECKS-PASSED";

/// A service name no other test (nor the person's real "keyward" entries) uses.
fn unique_service(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "keyward-test-{test}-{}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_micros(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

fn fake_key(tag: &str) -> String {
    let digits: String = tag
        .bytes()
        .cycle()
        .take(64)
        .map(|b| char::from(b"0123456789abcdef"[usize::from(b % 16)]))
        .collect();
    format!("sk-or-v1-{digits}")
}

/// What `secret-tool` (libsecret, independent of keyring-rs) finds for an entry.
fn secret_tool_lookup(entry: &KeychainEntry) -> Option<String> {
    let out = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            &entry.service,
            "username",
            &entry.account,
        ])
        .output()
        .expect("secret-tool (libsecret-tools) must be installed");
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
}

/// The secret a vault call returned, in clear (for comparing).
fn revealed(read: Result<SecretString, Error>) -> String {
    read.unwrap().expose_secret().to_owned()
}

/// `secret-tool` finds `value` stored in `entry`.
fn assert_stored(entry: &KeychainEntry, value: &str) {
    assert_eq!(secret_tool_lookup(entry).as_deref(), Some(value));
}

fn secret_tool_search(service: &str) -> String {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", service])
        .output()
        .expect("secret-tool (libsecret-tools) must be installed");
    // secret-tool prints the label and secret on stdout but the attributes on stderr.
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
#[ignore = "needs a Secret Service session; run by cargo xtask test"]
fn management_keys_are_set_read_overwritten_and_deleted() {
    let vault = Vault::with_service(unique_service("mgmt"));
    let profile = "3f1c2a8e-0000-4000-8000-000000000001";
    assert!(!vault.has_management_key(profile).unwrap());

    let first = fake_key("first");
    vault.set_management_key(profile, &secret(&first)).unwrap();
    assert!(vault.has_management_key(profile).unwrap());
    assert_eq!(revealed(vault.management_key(profile)), first);

    let entry = vault.management_key_entry(profile).unwrap();
    assert_stored(&entry, &first);

    let second = fake_key("second");
    vault.set_management_key(profile, &secret(&second)).unwrap();
    assert_eq!(revealed(vault.management_key(profile)), second);
    assert_stored(&entry, &second);
    // Overwriting replaces the item; it does not add a second one.
    assert_eq!(
        secret_tool_search(vault.service())
            .matches("secret = ")
            .count(),
        1
    );

    // Another profile's key is a separate entry.
    let other = "3f1c2a8e-0000-4000-8000-000000000002";
    vault.set_management_key(other, &secret(&first)).unwrap();
    assert_eq!(revealed(vault.management_key(profile)), second);

    vault.delete_management_key(profile).unwrap();
    assert!(!vault.has_management_key(profile).unwrap());
    assert_eq!(secret_tool_lookup(&entry), None);
    let err = vault.management_key(profile).unwrap_err();
    assert_eq!(err.kind(), "secret_not_found");
    // Deleting again is fine.
    vault.delete_management_key(profile).unwrap();
    vault.delete_management_key(other).unwrap();
}

#[test]
#[ignore = "needs a Secret Service session; run by cargo xtask test"]
fn entries_use_the_service_and_username_attributes_secret_tool_knows() {
    let vault = Vault::with_service(unique_service("attrs"));
    vault
        .set_management_key("p1", &secret(&fake_key("attrs")))
        .unwrap();
    let found = secret_tool_search(vault.service());
    assert!(
        found.contains(&format!("attribute.service = {}", vault.service())),
        "{found}"
    );
    assert!(
        found.contains("attribute.username = management-key/p1"),
        "{found}"
    );
    // The label keychain UIs show names the entry, never the secret.
    let label = found.lines().find(|l| l.starts_with("label = ")).unwrap();
    assert!(!label.contains("sk-or-"), "{label}");
    vault.delete_management_key("p1").unwrap();
    assert_eq!(secret_tool_search(vault.service()), "");
}

#[test]
#[ignore = "needs a Secret Service session; run by cargo xtask test"]
fn a_missing_entry_is_secret_not_found() {
    let vault = Vault::with_service(unique_service("missing"));
    let err = vault.management_key("nobody").unwrap_err();
    assert!(matches!(err, Error::SecretNotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "The management key of profile nobody is not in the system keychain"
    );
    assert_eq!(
        vault.pending_secret("p", "h").unwrap_err().kind(),
        "secret_not_found"
    );
    assert_eq!(
        vault.kept_secret("p", "h").unwrap_err().kind(),
        "secret_not_found"
    );
    assert!(!vault.delete_pending_secret("p", "h").unwrap());
    assert!(!vault.delete_kept_secret("p", "h").unwrap());
    let entry = KeychainEntry::new(vault.service(), "deploy/nothing");
    assert_eq!(vault.entry(&entry).unwrap_err().kind(), "secret_not_found");
    assert!(!vault.delete_entry(&entry).unwrap());
}

#[test]
#[ignore = "needs a Secret Service session; run by cargo xtask test"]
fn pending_and_kept_secrets_are_set_read_moved_and_deleted() {
    let vault = Vault::with_service(unique_service("pending"));
    let (profile, hash) = (
        "p1",
        "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943",
    );
    let created = fake_key("created");

    vault
        .set_pending_secret(profile, hash, &secret(&created))
        .unwrap();
    assert_eq!(revealed(vault.pending_secret(profile, hash)), created);
    let pending_entry = vault.pending_secret_entry(profile, hash).unwrap();
    assert_stored(&pending_entry, &created);

    // Overwrite (a retried creation of the same key).
    let again = fake_key("again");
    vault
        .set_pending_secret(profile, hash, &secret(&again))
        .unwrap();
    assert_eq!(revealed(vault.pending_secret(profile, hash)), again);

    vault.keep_pending_secret(profile, hash).unwrap();
    assert_eq!(
        vault.pending_secret(profile, hash).unwrap_err().kind(),
        "secret_not_found"
    );
    assert_eq!(revealed(vault.kept_secret(profile, hash)), again);
    let kept_entry = vault.kept_secret_entry(profile, hash).unwrap();
    assert_stored(&kept_entry, &again);
    assert_eq!(secret_tool_lookup(&pending_entry), None);

    assert!(vault.delete_kept_secret(profile, hash).unwrap());
    assert_eq!(secret_tool_lookup(&kept_entry), None);

    vault
        .set_pending_secret(profile, hash, &secret(&created))
        .unwrap();
    assert!(vault.delete_pending_secret(profile, hash).unwrap());
    assert_eq!(secret_tool_lookup(&pending_entry), None);
}

#[test]
#[ignore = "needs a Secret Service session; run by cargo xtask test"]
fn any_entry_can_be_written_for_deploy_targets() {
    let vault = Vault::with_service(unique_service("generic"));
    let target = KeychainEntry::new(unique_service("deploy-target"), "ci/openrouter");
    let value = fake_key("deployed");
    vault.set_entry(&target, &secret(&value)).unwrap();
    assert_eq!(revealed(vault.entry(&target)), value);
    assert_stored(&target, &value);
    let replaced = fake_key("rotated");
    vault.set_entry(&target, &secret(&replaced)).unwrap();
    assert_stored(&target, &replaced);
    assert!(vault.delete_entry(&target).unwrap());
    assert_eq!(secret_tool_lookup(&target), None);
    assert_eq!(
        vault.set_entry(&target, &secret("")).unwrap_err().kind(),
        "invalid_input"
    );
}

#[tokio::test]
#[ignore = "needs a Secret Service session; run by cargo xtask test"]
async fn the_async_wrapper_runs_calls_off_the_runtime_threads() {
    let vault = Vault::with_service(unique_service("async"));
    let value = fake_key("async");
    let to_save = secret(&value);
    vault
        .run(move |v| v.set_management_key("p", &to_save))
        .await
        .unwrap();
    let back = vault.run(|v| v.management_key("p")).await.unwrap();
    assert_eq!(back.expose_secret(), value);
    vault.run(|v| v.delete_management_key("p")).await.unwrap();
    let err = vault.run(|v| v.management_key("p")).await.unwrap_err();
    assert_eq!(err.kind(), "secret_not_found");
}

/// Every file of the store's directory that contains `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let bytes = std::fs::read(path).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
        .map(|path| path.display().to_string())
        .collect()
}

#[test]
#[ignore = "needs a Secret Service session; run by cargo xtask test"]
fn profiles_and_created_secrets_live_in_the_keychain_and_never_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).unwrap();
    let vault = Vault::with_service(unique_service("manager"));
    let profiles = ProfileManager::new(&store, &vault);

    let management_key = fake_key("management");
    let profile = profiles
        .add(
            &NewProfile {
                name: "acme-prod".into(),
                ..NewProfile::default()
            },
            &secret(&management_key),
        )
        .unwrap();
    assert_eq!(
        profiles
            .management_key(&profile.id)
            .unwrap()
            .expose_secret(),
        management_key
    );
    let mgmt_entry = vault.management_key_entry(&profile.id).unwrap();
    assert_stored(&mgmt_entry, &management_key);

    // A name clash leaves no keychain entry behind.
    let err = profiles
        .add(
            &NewProfile {
                name: "ACME-prod".into(),
                ..NewProfile::default()
            },
            &secret(&fake_key("clash")),
        )
        .unwrap_err();
    assert_eq!(err.kind(), "profile_name_taken");
    assert_eq!(
        secret_tool_search(vault.service())
            .matches("secret = ")
            .count(),
        1
    );

    // A created key: its secret goes to the keychain, its index to the store.
    let created = fake_key("created-key");
    let hash = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
    let held = profiles
        .hold_created_secret(
            &NewSecretIndexEntry {
                profile_id: profile.id.clone(),
                key_hash: hash.into(),
                key_name: "ci".into(),
                label: Some("sk-or-v1-0a1...8f9".into()),
            },
            &secret(&created),
        )
        .unwrap();
    assert_eq!(held.state, SecretState::Pending);
    assert_eq!(store.pending_secrets().unwrap().len(), 1);
    assert_eq!(
        profiles
            .held_secret(&profile.id, hash)
            .unwrap()
            .expose_secret(),
        created
    );

    // Removing a profile that still holds a secret is refused, with counts.
    let err = profiles.remove(&profile.id).unwrap_err();
    assert_eq!(err.kind(), "profile_holds_secrets");
    assert!(err.to_string().contains("1 unresolved"), "{err}");

    profiles.keep_secret(&profile.id, hash).unwrap();
    assert!(store.pending_secrets().unwrap().is_empty());
    assert_eq!(
        profiles
            .held_secret(&profile.id, hash)
            .unwrap()
            .expose_secret(),
        created
    );
    let kept_entry = vault.kept_secret_entry(&profile.id, hash).unwrap();
    assert_stored(&kept_entry, &created);

    // The store's files never saw either secret, nor their hex bodies.
    for needle in [&management_key, &created] {
        let body = &needle["sk-or-v1-".len()..];
        assert_eq!(files_containing(dir.path(), body), Vec::<String>::new());
    }
    assert!(
        !files_containing(dir.path(), hash).is_empty(),
        "the check can find what was written"
    );

    profiles.release_secret(&profile.id, hash).unwrap();
    assert_eq!(secret_tool_lookup(&kept_entry), None);
    assert!(store.secret_index(None, None).unwrap().is_empty());

    profiles.rename(&profile.id, "acme-production").unwrap();
    profiles.remove(&profile.id).unwrap();
    assert_eq!(secret_tool_lookup(&mgmt_entry), None);
    assert_eq!(store.profile(&profile.id).unwrap(), None);
    assert_eq!(secret_tool_search(vault.service()), "");
}

/// Through the service, as the app does it: a profile's management key and a created key's pending
/// secret land in the real Secret Service, and leave it when resolved and removed. (The service's
/// logic around them is tested over the in-memory keychain in `service_keychain.rs`.)
#[tokio::test]
#[ignore = "needs a Secret Service session; run by cargo xtask test"]
async fn the_service_keeps_management_keys_and_pending_secrets_in_the_secret_service() {
    use keyward_core::ipc::{
        CreateKeyArgs, PendingAction, PendingResolveArgs, ProfileAddArgs, ProfileIdArgs,
    };
    use keyward_core::{Keyward, ServiceConfig};
    use openrouter_emulator::{Emulator, EmulatorConfig};

    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::with_service(unique_service("service"));
    let mut config = ServiceConfig::new(vault.clone());
    config.recovery = None;
    let service = Keyward::new(Store::open_in_dir(dir.path()).unwrap(), config);
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let profile = service
        .profile_add(ProfileAddArgs {
            name: "Work".into(),
            base_url: Some(emulator.base_url().to_owned()),
            workspace_id: None,
            management_key: secret(emulator.management_key()),
        })
        .await
        .unwrap();
    let mgmt_entry = vault.management_key_entry(&profile.id).unwrap();
    assert_eq!(
        secret_tool_lookup(&mgmt_entry).as_deref(),
        Some(emulator.management_key())
    );

    let created = service
        .key_create(CreateKeyArgs {
            profile_id: profile.id.clone(),
            name: "ci".into(),
            limit: None,
            limit_reset: None,
            include_byok_in_limit: false,
            expires_at: None,
            workspace_id: None,
        })
        .await
        .unwrap();
    assert!(created.pending_saved, "{:?}", created.keychain_error);
    let hash = created.key.key.hash.clone();
    let pending_entry = vault.pending_secret_entry(&profile.id, &hash).unwrap();
    assert_eq!(
        secret_tool_lookup(&pending_entry).as_deref(),
        Some(created.secret.as_str())
    );

    service
        .pending_resolve(PendingResolveArgs {
            profile_id: profile.id.clone(),
            key_hash: hash,
            action: PendingAction::Forget,
        })
        .await
        .unwrap();
    assert_eq!(secret_tool_lookup(&pending_entry), None);
    service
        .profile_remove(ProfileIdArgs { id: profile.id })
        .await
        .unwrap();
    assert_eq!(secret_tool_lookup(&mgmt_entry), None);
    assert_eq!(secret_tool_search(vault.service()), "");
}

// --- Failure modes, each in a child process with its own environment ------------------------------

/// Runs this test binary again for the single test `name` in child `mode`, after `configure` has
/// adjusted (or wrapped) the command, and asserts the child passed its checks within `within`.
fn child_passes(name: &str, mode: &str, within: Duration, configure: impl FnOnce(&mut Command)) {
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new("timeout");
    command
        .arg("60")
        .arg(&exe)
        .args([
            "--exact",
            name,
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode)
        // No display: a prompter must not pop up (or wait) while testing.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY");
    configure(&mut command);
    let started = Instant::now();
    let output = command.output().unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains(CHILD_PASSED),
        "child failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert!(took < within, "took {took:?}");
}

/// In the child: its checks, begun at `started`, took less than `within`; tells the parent they
/// all passed.
fn child_passed_within(started: Instant, within: Duration) {
    assert!(started.elapsed() < within, "{:?}", started.elapsed());
    println!("{CHILD_PASSED}");
}

/// True in the child process started for `mode`.
fn in_child(mode: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|m| m == mode)
}

#[test]
#[ignore = "needs a Secret Service session; run by cargo xtask test"]
fn no_dbus_session_is_reported_as_unavailable_fast() {
    if in_child("no-dbus") {
        let vault = Vault::with_service(unique_service("no-dbus"));
        let started = Instant::now();
        for err in [
            vault.management_key("p").unwrap_err(),
            vault.set_management_key("p", &secret("x")).unwrap_err(),
            vault.delete_management_key("p").unwrap_err(),
        ] {
            println!("child got: {err}");
            assert!(matches!(err, Error::KeychainUnavailable { .. }), "{err:?}");
            assert!(err.to_string().contains("no D-Bus session bus"), "{err}");
            assert!(err.to_string().contains("dbus-run-session"), "{err}");
        }
        child_passed_within(started, Duration::from_secs(3));
        return;
    }
    child_passes(
        "no_dbus_session_is_reported_as_unavailable_fast",
        "no-dbus",
        Duration::from_secs(10),
        |command| {
            command.env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/keyward-test/bus",
            );
        },
    );
}

/// A session bus config with no service directories, so nothing can be activated on it.
const BARE_SESSION_BUS: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

#[test]
#[ignore = "needs a Secret Service session; run by cargo xtask test"]
fn no_secret_service_on_the_bus_is_reported_as_unavailable() {
    if in_child("no-secret-service") {
        let vault = Vault::with_service(unique_service("no-ss"));
        for err in [
            vault.management_key("p").unwrap_err(),
            vault.set_management_key("p", &secret("x")).unwrap_err(),
        ] {
            println!("child got: {err}");
            assert!(matches!(err, Error::KeychainUnavailable { .. }), "{err:?}");
            assert!(
                err.to_string().contains("no Secret Service is running"),
                "{err}"
            );
            assert!(err.to_string().contains("gnome-keyring"), "{err}");
        }
        println!("{CHILD_PASSED}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("session.conf");
    std::fs::write(&config, BARE_SESSION_BUS).unwrap();
    child_passes(
        "no_secret_service_on_the_bus_is_reported_as_unavailable",
        "no-secret-service",
        Duration::from_secs(15),
        |command| {
            // A bus of its own on which nothing provides (or can activate) org.freedesktop.secrets.
            let config = config.to_str().unwrap();
            in_private_session(command, &["--no-keyring", "--bus-config", config]);
        },
    );
}

/// The private desktop session script (scratch HOME, D-Bus session, unlocked gnome-keyring).
const SESSION_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/session.sh");

/// Wraps the child `command` in a private desktop session of its own (tests/session.sh with these
/// options), so what it does to its keyring (lock it, or never create one) cannot disturb the other
/// tests' keyring. With `--no-keyring` no daemon is started: the first Secret Service call
/// activates gnome-keyring, which in the fresh HOME has no keyring at all (none was ever unlocked).
fn in_private_session(command: &mut Command, options: &[&str]) {
    let mut wrapped = Command::new("timeout");
    wrapped
        .args(["90", SESSION_SCRIPT])
        .args(options)
        .arg("--")
        .arg(command.get_program())
        .args(command.get_args())
        .envs(command.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
    *command = wrapped;
}

#[test]
#[ignore = "needs a Secret Service session; run by cargo xtask test"]
fn a_locked_keyring_is_reported_as_locked_without_hanging() {
    if in_child("locked") {
        let vault = Vault::with_service(unique_service("locked"));
        let value = fake_key("locked");
        vault.set_management_key("p", &secret(&value)).unwrap();
        assert_eq!(revealed(vault.management_key("p")), value);

        lock_login_keyring();
        let started = Instant::now();
        for err in [
            vault.management_key("p").unwrap_err(),
            vault.set_management_key("p", &secret("other")).unwrap_err(),
            vault.set_management_key("q", &secret("other")).unwrap_err(),
        ] {
            println!("child got: {err}");
            assert!(matches!(err, Error::KeychainLocked { .. }), "{err:?}");
            let text = err.to_string();
            assert!(
                text.starts_with("The system keychain is locked: "),
                "{text}"
            );
            assert!(text.contains("unlock"), "{text}");
            assert!(!text.contains(&value));
        }
        child_passed_within(started, Duration::from_secs(10));
        return;
    }
    child_passes(
        "a_locked_keyring_is_reported_as_locked_without_hanging",
        "locked",
        Duration::from_secs(30),
        |command| in_private_session(command, &[]),
    );
}

#[test]
#[ignore = "needs a Secret Service session; run by cargo xtask test"]
fn no_default_keyring_is_reported_with_how_to_create_one() {
    if in_child("no-keyring") {
        let vault = Vault::with_service(unique_service("no-keyring"));
        let started = Instant::now();
        let err = vault
            .set_management_key("p", &secret(&fake_key("nowhere")))
            .unwrap_err();
        println!("child got: {err}");
        assert!(matches!(err, Error::KeychainUnavailable { .. }), "{err:?}");
        assert!(err.to_string().contains("no default keyring"), "{err}");
        assert!(err.to_string().contains("Seahorse"), "{err}");
        // Reading says the same, rather than pretending the key was never saved.
        let err = vault.management_key("p").unwrap_err();
        assert_eq!(err.kind(), "keychain_unavailable", "{err}");
        child_passed_within(started, Duration::from_secs(10));
        return;
    }
    child_passes(
        "no_default_keyring_is_reported_with_how_to_create_one",
        "no-keyring",
        Duration::from_secs(30),
        |command| in_private_session(command, &["--no-keyring"]),
    );
}

fn lock_login_keyring() {
    // dbus-send comes with dbus itself (package dbus-bin), which these tests need anyway.
    let out = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ])
        .output()
        .expect("dbus-send (package dbus-bin) must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
