//! The smallest Tauri 2 app: one window showing a static page; no plugins, no commands, no tray.
//! `cargo xtask bench idle` and `bench startup` measure it beside Keyward, built (and for `startup`
//! bundled as a .deb) in the same run. With `--hidden` the window hides once its page has loaded, as
//! Keyward's does when it is closed to the tray.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use tauri::webview::PageLoadEvent;

fn main() {
    let hidden = std::env::args().skip(1).any(|arg| arg == "--hidden");
    let outcome = tauri::Builder::default()
        .on_page_load(move |webview, payload| {
            if hidden
                && payload.event() == PageLoadEvent::Finished
                && let Err(err) = webview.window().hide()
            {
                eprintln!("minimal-app: could not hide the window: {err}");
            }
        })
        .run(tauri::generate_context!());
    if let Err(err) = outcome {
        eprintln!("minimal-app: {err}");
        std::process::exit(1);
    }
}
