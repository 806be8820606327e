//! Whether the computer runs on battery, so the watcher can check less often while nobody looks.
//! Linux reads the kernel's power supplies (`/sys/class/power_supply`, what UPower reads too); on
//! other systems the answer is "not known", which the watcher treats as mains power.

use std::fs;
use std::path::{Path, PathBuf};

/// Answers "on battery now?"; asked each time the watcher goes to sleep.
pub trait PowerSource: Send + Sync + 'static {
    fn on_battery(&self) -> bool;
}

/// The machine's own power supplies.
#[derive(Debug, Clone)]
pub struct SystemPower {
    /// Where the kernel lists its power supplies (a scratch directory in tests).
    supplies: PathBuf,
}

impl Default for SystemPower {
    fn default() -> Self {
        SystemPower {
            supplies: PathBuf::from("/sys/class/power_supply"),
        }
    }
}

impl SystemPower {
    /// Power supplies listed under `supplies` instead of `/sys/class/power_supply`.
    pub fn at(supplies: impl Into<PathBuf>) -> Self {
        SystemPower {
            supplies: supplies.into(),
        }
    }
}

impl PowerSource for SystemPower {
    fn on_battery(&self) -> bool {
        if cfg!(target_os = "linux") {
            on_battery_in(&self.supplies)
        } else {
            false
        }
    }
}

/// On battery: a battery of the computer itself (not a mouse's: `scope` = `Device`) is discharging
/// and no line power (mains, USB-C, wireless charger) is online. A desktop without a battery, or a
/// directory that can't be read, is not on battery.
pub fn on_battery_in(supplies: &Path) -> bool {
    let Ok(entries) = fs::read_dir(supplies) else {
        return false;
    };
    let mut discharging = false;
    for entry in entries.flatten() {
        let supply = entry.path();
        let read = |name: &str| {
            fs::read_to_string(supply.join(name))
                .map(|text| text.trim().to_owned())
                .unwrap_or_default()
        };
        match read("type").as_str() {
            "Battery" if read("scope") != "Device" => {
                discharging |= read("status") == "Discharging";
            }
            "Mains" | "USB" | "Wireless" if read("online") == "1" => return false,
            _ => {}
        }
    }
    discharging
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A power supply's directory name and its files (name, content).
    type Supply<'a> = (&'a str, &'a [(&'a str, &'a str)]);

    fn supply(root: &Path, name: &str, files: &[(&str, &str)]) {
        let dir = root.join(name);
        fs::create_dir_all(&dir).unwrap();
        for (file, text) in files {
            fs::write(dir.join(file), format!("{text}\n")).unwrap();
        }
    }

    #[test]
    fn a_discharging_laptop_battery_without_line_power_is_on_battery() {
        let root = tempfile::tempdir().unwrap();
        supply(root.path(), "AC", &[("type", "Mains"), ("online", "0")]);
        supply(
            root.path(),
            "BAT0",
            &[
                ("type", "Battery"),
                ("status", "Discharging"),
                ("scope", "System"),
            ],
        );
        assert!(on_battery_in(root.path()));
        assert!(SystemPower::at(root.path()).on_battery());
    }

    #[test]
    fn plugged_in_charging_full_or_no_battery_is_not_on_battery() {
        let cases: &[&[Supply]] = &[
            // Plugged in, still discharging (a weak charger): line power wins, as in UPower.
            &[
                ("AC", &[("type", "Mains"), ("online", "1")]),
                ("BAT0", &[("type", "Battery"), ("status", "Discharging")]),
            ],
            // USB-C power delivery.
            &[
                (
                    "ucsi-source-psy-USBC000:001",
                    &[("type", "USB"), ("online", "1")],
                ),
                ("BAT1", &[("type", "Battery"), ("status", "Discharging")]),
            ],
            &[("BAT0", &[("type", "Battery"), ("status", "Charging")])],
            &[("BAT0", &[("type", "Battery"), ("status", "Full")])],
            &[("BAT0", &[("type", "Battery"), ("status", "Not charging")])],
            // A desktop: only mains.
            &[("ACAD", &[("type", "Mains"), ("online", "1")])],
            // A wireless mouse's battery running down says nothing about the computer.
            &[(
                "hidpp_battery_0",
                &[
                    ("type", "Battery"),
                    ("status", "Discharging"),
                    ("scope", "Device"),
                ],
            )],
            // Nothing listed (a VM, a container).
            &[],
        ];
        for (index, supplies) in cases.iter().enumerate() {
            let root = tempfile::tempdir().unwrap();
            for (name, files) in supplies.iter() {
                supply(root.path(), name, files);
            }
            assert!(!on_battery_in(root.path()), "case {index}: {supplies:?}");
        }
    }

    #[test]
    fn an_unreadable_directory_is_not_on_battery() {
        assert!(!on_battery_in(Path::new("/nonexistent/power_supply")));
    }
}
