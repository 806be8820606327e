//! Printing: JSON for scripts (`--json`), text for people.

use keyward_core::rotation::RotationView;

use crate::error::CliError;

pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn print_rotation(view: &RotationView, json: bool) -> Result<(), CliError> {
    if json {
        return print_json(view);
    }
    println!(
        "rotation {}  {} → {}  [{}]",
        view.id, view.old_key_name, view.new_key_name, view.status
    );
    for step in &view.steps {
        println!(
            "  {:<12} {:<8} {}",
            step.step.as_str(),
            <&str>::from(step.status),
            step.detail.as_deref().unwrap_or("")
        );
    }
    if let Some(waiting) = &view.waiting_for {
        println!("  waiting for {waiting}");
    }
    if let Some(error) = &view.error {
        println!("  error: {}", error.message);
    }
    Ok(())
}
