//! keyward-core: everything in Keyward that is not GUI. The desktop shell and the CLI are thin front
//! ends over this crate, so every behaviour worth testing is tested here without a window.

pub mod alerts;
pub mod api;
pub mod audit;
pub mod backoff;
pub mod batch;
pub mod csv_io;
pub mod deploy;
pub mod diagnostics;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod idle;
pub mod ipc;
pub mod locate;
pub mod metadata;
pub mod private_fs;
pub mod rotation;
pub mod saved_filters;
pub mod service;
pub mod startup;
pub mod store;
pub mod tray_host;
pub mod updates;
pub mod usage;
pub mod vault;
pub mod watch;

pub use error::{AppError, Error, ErrorKind};
pub use service::{Keyward, ServiceConfig};
