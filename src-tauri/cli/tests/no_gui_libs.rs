//! `keyward-cli` is for terminals, servers and CI images: it must not link GTK, WebKit, libsoup or
//! JavaScriptCore (the desktop shell's libraries). Checked on the built binary with `ldd`.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

const CLI: &str = env!("CARGO_BIN_EXE_keyward-cli");

#[test]
fn the_cli_links_no_gtk_or_webkit() {
    let output = std::process::Command::new("ldd").arg(CLI).output().unwrap();
    assert!(output.status.success(), "ldd failed: {output:?}");
    let libraries = String::from_utf8_lossy(&output.stdout).to_lowercase();
    assert!(
        libraries.contains("libc.so"),
        "not an ldd listing: {libraries}"
    );
    for forbidden in ["gtk", "gdk", "webkit", "soup", "javascriptcore"] {
        assert!(
            !libraries.contains(forbidden),
            "keyward-cli links {forbidden}:\n{libraries}"
        );
    }
}
