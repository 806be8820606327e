//! Signed updates end to end through keyward-core's updater (`keyward_core::updates`), the code the
//! desktop shell runs before it hands the checked bytes to tauri-plugin-updater: a release server
//! on 127.0.0.1 (axum) serves a `latest.json` and an artifact signed with a minisign key pair made
//! here. The update is found (and "no update" when the manifest is not newer); a correctly signed
//! artifact is downloaded and verified (never installed: installing is the plugin's, in the shell);
//! a tampered artifact, a signature by another key and a signature for another version are refused
//! with our clear error; nothing is downloaded without the person's consent to the offered
//! version; a running rotation blocks the install, and an install blocks rotations.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use std::io::Cursor;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::future::BoxFuture;
use keyward_core::rotation::{
    Boundary, HookPoint, RotationHooks, RotationStatus, RotationStepName,
};
use keyward_core::updates::{Consent, UpdateCheck, UpdateSource, Updater};
use keyward_core::{Error, ErrorKind};
use serde_json::{Value, json};
use url::Url;

const TARGET: &str = "linux-x86_64";
const ARTIFACT: &[u8] = b"pretend this is keyward_0.2.0_amd64.deb";

/// A minisign key pair, the public key as tauri.conf.json holds it (base64 of the key file).
struct Signer {
    pair: minisign::KeyPair,
    pubkey: String,
}

impl Signer {
    fn new() -> Signer {
        let pair = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let pubkey = STANDARD.encode(pair.pk.to_box().unwrap().to_string());
        Signer { pair, pubkey }
    }

    /// What `tauri signer sign --app-version` writes (base64 of the .sig file), the version in the
    /// trusted comment.
    fn sign(&self, bytes: &[u8], version: &str) -> String {
        let trusted = format!("timestamp:1764590400\tfile:keyward.deb\tversion:{version}");
        let signature = minisign::sign(
            Some(&self.pair.pk),
            &self.pair.sk,
            Cursor::new(bytes),
            Some(&trusted),
            Some("signature from tauri secret key"),
        )
        .unwrap();
        STANDARD.encode(signature.to_string())
    }
}

#[derive(Default)]
struct Release {
    manifest: Mutex<Value>,
    artifact: Mutex<Vec<u8>>,
    /// Requests for the artifact: nothing may be downloaded without consent.
    downloads: AtomicUsize,
}

struct Server {
    release: Arc<Release>,
    base: Url,
}

impl Server {
    async fn start() -> Server {
        let release = Arc::new(Release::default());
        let app = Router::new()
            .route(
                "/latest.json",
                get(|State(r): State<Arc<Release>>| async move {
                    axum::Json(r.manifest.lock().unwrap().clone())
                }),
            )
            .route(
                "/keyward.deb",
                get(|State(r): State<Arc<Release>>| async move {
                    r.downloads.fetch_add(1, Ordering::SeqCst);
                    (StatusCode::OK, r.artifact.lock().unwrap().clone()).into_response()
                }),
            )
            .with_state(Arc::clone(&release));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server { release, base }
    }

    /// Publishes `version` with `artifact` under `signature`.
    fn publish(&self, version: &str, artifact: &[u8], signature: String) {
        *self.release.manifest.lock().unwrap() = json!({
            "version": version,
            "notes": "Faster start; signed updates.",
            "pub_date": "2026-12-01T12:00:00Z",
            "platforms": {
                TARGET: { "signature": signature, "url": self.base.join("keyward.deb").unwrap().as_str() },
                "windows-x86_64": { "signature": "unused", "url": "https://example.invalid/k.msi" }
            }
        });
        *self.release.artifact.lock().unwrap() = artifact.to_vec();
    }

    fn downloads(&self) -> usize {
        self.release.downloads.load(Ordering::SeqCst)
    }

    fn updater(&self, pubkey: &str, current: &str) -> Updater {
        let source =
            UpdateSource::new(vec![self.base.join("latest.json").unwrap()], pubkey).unwrap();
        Updater::new(
            source,
            current,
            vec![format!("{TARGET}-deb"), TARGET.to_owned()],
        )
        .unwrap()
    }
}

fn consent(version: &str) -> Consent {
    Consent {
        version: version.to_owned(),
    }
}

/// A service with nothing running: install guards are given.
fn idle_service(test: &str) -> service_support::TestService {
    service_support::start_with(test, |_, _| {})
}

#[tokio::test]
async fn a_newer_version_is_found_and_the_same_or_an_older_one_is_not() {
    let signer = Signer::new();
    let server = Server::start().await;
    server.publish("0.2.0", ARTIFACT, signer.sign(ARTIFACT, "0.2.0"));

    let check = server
        .updater(&signer.pubkey, "0.1.0")
        .check()
        .await
        .unwrap();
    let UpdateCheck::Available(update) = check else {
        panic!("expected an update, got {check:?}");
    };
    assert_eq!(update.version, "0.2.0");
    assert_eq!(update.current_version, "0.1.0");
    assert_eq!(
        update.notes.as_deref(),
        Some("Faster start; signed updates.")
    );
    assert_eq!(update.date.as_deref(), Some("2026-12-01T12:00:00Z"));

    for current in ["0.2.0", "0.3.1"] {
        let check = server
            .updater(&signer.pubkey, current)
            .check()
            .await
            .unwrap();
        assert_eq!(
            check,
            UpdateCheck::None {
                current_version: current.to_owned()
            }
        );
    }
    assert_eq!(server.downloads(), 0, "a check downloads no artifact");
}

#[tokio::test]
async fn a_correctly_signed_update_is_downloaded_and_verified() {
    let signer = Signer::new();
    let server = Server::start().await;
    server.publish("0.2.0", ARTIFACT, signer.sign(ARTIFACT, "0.2.0"));
    let t = idle_service("update-accepted");
    let updater = server.updater(&signer.pubkey, "0.1.0");
    updater.check().await.unwrap();

    let guard = t.service.begin_update_install().unwrap();
    let mut progress = Vec::new();
    let package = updater
        .download(&consent("0.2.0"), &guard, |p| progress.push(p))
        .await
        .unwrap();
    assert_eq!(package.bytes, ARTIFACT);
    assert_eq!(package.version, "0.2.0");
    assert_eq!(package.target, TARGET);
    assert_eq!(package.manifest["version"], "0.2.0");
    let last = progress.last().unwrap();
    assert_eq!(last.downloaded, ARTIFACT.len() as u64);
    assert_eq!(last.total, Some(ARTIFACT.len() as u64));
    assert_eq!(server.downloads(), 1);
}

/// Downloads the offered 0.2.0 with consent; the error it ends with.
async fn refused(server: &Server, pubkey: &str, test: &str) -> Error {
    let t = idle_service(test);
    let updater = server.updater(pubkey, "0.1.0");
    updater.check().await.unwrap();
    let guard = t.service.begin_update_install().unwrap();
    updater
        .download(&consent("0.2.0"), &guard, |_| {})
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_tampered_artifact_is_refused() {
    let signer = Signer::new();
    let server = Server::start().await;
    let mut tampered = ARTIFACT.to_vec();
    tampered[3] ^= 0x01;
    server.publish("0.2.0", &tampered, signer.sign(ARTIFACT, "0.2.0"));

    let error = refused(&server, &signer.pubkey, "update-tampered").await;
    assert_eq!(error.kind(), ErrorKind::Update, "{error:?}");
    let text = error.to_string();
    assert!(text.contains("does not match its signature"), "{text}");
    assert!(text.contains("nothing was installed"), "{text}");
    assert_eq!(server.downloads(), 1);
}

#[tokio::test]
async fn a_signature_by_another_key_is_refused() {
    let ours = Signer::new();
    let theirs = Signer::new();
    let server = Server::start().await;
    server.publish("0.2.0", ARTIFACT, theirs.sign(ARTIFACT, "0.2.0"));

    let error = refused(&server, &ours.pubkey, "update-wrong-key").await;
    assert_eq!(error.kind(), ErrorKind::Update, "{error:?}");
    assert!(
        error.to_string().contains("does not match its signature"),
        "{error}"
    );
}

#[tokio::test]
async fn a_genuine_artifact_announced_as_another_version_is_refused() {
    // A tampered manifest announcing 0.2.0 over an older, genuinely signed 0.1.5 (a downgrade).
    let signer = Signer::new();
    let server = Server::start().await;
    server.publish("0.2.0", ARTIFACT, signer.sign(ARTIFACT, "0.1.5"));

    let error = refused(&server, &signer.pubkey, "update-wrong-version").await;
    assert_eq!(error.kind(), ErrorKind::Update, "{error:?}");
    assert!(
        error.to_string().contains("is signed as version 0.1.5"),
        "{error}"
    );
}

#[tokio::test]
async fn nothing_is_downloaded_without_consent_to_the_offered_version() {
    let signer = Signer::new();
    let server = Server::start().await;
    server.publish("0.2.0", ARTIFACT, signer.sign(ARTIFACT, "0.2.0"));
    let t = idle_service("update-consent");
    let updater = server.updater(&signer.pubkey, "0.1.0");
    let guard = t.service.begin_update_install().unwrap();

    // No check yet: nothing was offered, so nothing was agreed to.
    let error = updater
        .download(&consent("0.2.0"), &guard, |_| {})
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("No update has been offered"),
        "{error}"
    );

    // The person agreed to 0.2.0; the server now offers 0.3.0 (checked again): not agreed to.
    updater.check().await.unwrap();
    server.publish("0.3.0", ARTIFACT, signer.sign(ARTIFACT, "0.3.0"));
    updater.check().await.unwrap();
    let error = updater
        .download(&consent("0.2.0"), &guard, |_| {})
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("the update offered is 0.3.0"),
        "{error}"
    );

    // The server says there is nothing newer any more: the old offer is gone.
    server.publish("0.1.0", ARTIFACT, signer.sign(ARTIFACT, "0.1.0"));
    updater.check().await.unwrap();
    let error = updater
        .download(&consent("0.3.0"), &guard, |_| {})
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("No update has been offered"),
        "{error}"
    );
    assert_eq!(server.downloads(), 0, "nothing downloaded without consent");
}

#[test]
fn only_https_endpoints_are_accepted_and_plain_http_only_to_this_machine_in_test_builds() {
    let pubkey = Signer::new().pubkey;
    let source = |url: &str| UpdateSource::new(vec![Url::parse(url).unwrap()], &pubkey);
    assert!(
        source("https://github.com/keyward-app/keyward/releases/latest/download/latest.json")
            .is_ok()
    );
    assert!(
        source("http://127.0.0.1:9/latest.json").is_ok(),
        "a debug/test build"
    );
    assert!(
        source("http://localhost:9/latest.json").is_ok(),
        "a debug/test build"
    );
    let error = source("http://example.com/latest.json").unwrap_err();
    assert!(
        error.to_string().contains("only fetched over https"),
        "{error}"
    );
    assert!(source("ftp://example.com/latest.json").is_err());
    let error = UpdateSource::new(
        vec![Url::parse("https://example.com/latest.json").unwrap()],
        "bm90IGEga2V5",
    )
    .unwrap_err();
    assert!(error.to_string().contains("not a minisign key"), "{error}");
}

/// Holds the rotation runner at `point` until `go` is notified.
struct PauseAt {
    point: HookPoint,
    reached: Arc<tokio::sync::Notify>,
    go: Arc<tokio::sync::Notify>,
}

impl RotationHooks for PauseAt {
    fn at(&self, _rotation_id: &str, point: HookPoint) -> BoxFuture<'static, ()> {
        if point != self.point {
            return Box::pin(std::future::ready(()));
        }
        self.reached.notify_one();
        let go = Arc::clone(&self.go);
        Box::pin(async move { go.notified().await })
    }
}

#[tokio::test]
async fn a_running_rotation_blocks_the_install_and_an_install_blocks_rotations() {
    let pause = Arc::new(PauseAt {
        point: HookPoint::new(RotationStepName::Deploy, Boundary::Before),
        reached: Arc::new(tokio::sync::Notify::new()),
        go: Arc::new(tokio::sync::Notify::new()),
    });
    let rig = rotation_support::rig("update-rotation", Some(pause.clone())).await;
    rig.set_policy(|_| {});
    let service = rig.t.service.clone();

    // An install under way: no rotation starts (and nothing was started).
    let guard = service.begin_update_install().unwrap();
    let error = service
        .rotation_start(rotation_support::start_args(&rig))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UpdateBlocked, "{error:?}");
    assert!(
        error.to_string().contains("installing an update"),
        "{error}"
    );
    assert!(service.rotations(None, false).unwrap().is_empty());
    // A second install at the same time is refused too.
    assert_eq!(
        service.begin_update_install().unwrap_err().kind(),
        ErrorKind::UpdateBlocked
    );
    drop(guard);

    // A rotation running (held at deploy:before): the install is refused, naming it.
    let app = service.clone();
    let args = rotation_support::start_args(&rig);
    let running = tokio::spawn(async move { app.rotation_start(args).await });
    tokio::time::timeout(Duration::from_secs(15), pause.reached.notified())
        .await
        .expect("deploy:before is reached");
    let error = service.begin_update_install().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UpdateBlocked, "{error:?}");
    let text = error.to_string();
    assert!(text.contains("A key rotation is running"), "{text}");
    assert!(text.contains("Try again"), "{text}");

    // Once it has finished its run (it now waits out its grace period), the install may go on.
    pause.go.notify_one();
    let view = running.await.unwrap().unwrap();
    assert_ne!(view.status, RotationStatus::Running, "{view:#?}");
    let guard = service.begin_update_install().unwrap();
    guard.ensure_no_rotation_running().unwrap();
}
