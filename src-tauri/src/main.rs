//! Keyward's desktop entry point; everything is in the library so tests can reach it.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // First: the start-up timing (first key table painted) counts from here.
    keyward_core::startup::process_started();
    keyward_lib::run();
}
