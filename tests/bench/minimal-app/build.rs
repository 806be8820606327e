//! Tauri's build step: reads tauri.conf.json and checks the icon.

fn main() {
    tauri_build::build();
}
