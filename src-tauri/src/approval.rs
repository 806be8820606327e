//! The desktop's [`CommandApprover`]: a native OK/Cancel dialog shown from Rust (the dialog plugin is
//! registered, but the web view is granted no dialog permission in `capabilities/`), naming the
//! exact program, arguments, working directory and variable of a command deploy target. Nothing the
//! web view can call answers it: only the person, in the dialog. Closing it is a refusal.

use std::future::Future;
use std::pin::Pin;

use keyward_core::Error;
use keyward_core::deploy::{CommandApprovalRequest, CommandApprover};
use tauri::{AppHandle, Manager};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};

use crate::MAIN_WINDOW;

pub struct NativeApprover {
    app: AppHandle,
}

impl NativeApprover {
    pub fn new(app: AppHandle) -> Self {
        NativeApprover { app }
    }
}

impl CommandApprover for NativeApprover {
    fn approve<'a>(
        &'a self,
        request: &'a CommandApprovalRequest,
    ) -> Pin<Box<dyn Future<Output = Result<bool, Error>> + Send + 'a>> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let mut dialog = self
            .app
            .dialog()
            .message(request.prompt_text())
            .title("Keyward: allow this command to run?")
            .kind(MessageDialogKind::Warning)
            .buttons(MessageDialogButtons::OkCancelCustom(
                "Allow this command".to_owned(),
                "Cancel".to_owned(),
            ));
        // Over the window when there is one (the person just pressed Save or Rotate there).
        if let Some(window) = self.app.get_webview_window(MAIN_WINDOW) {
            dialog = dialog.parent(&window);
        }
        dialog.show(move |allowed| {
            // The receiver is gone only if the request was dropped: nobody waits for the answer.
            let _ = answer.send(allowed);
        });
        Box::pin(async move {
            // A dialog that went away without an answer is a refusal.
            Ok(answered.await.unwrap_or(false))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    /// The dialog plugin is registered for Rust's use only: no capability lets a window call it
    /// (the web view could otherwise show its own "approval" dialogs or file pickers).
    #[test]
    fn no_window_is_granted_a_dialog_permission() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/capabilities");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let capability: serde_json::Value = serde_json::from_str(&text).unwrap();
            for permission in capability["permissions"].as_array().unwrap() {
                let id = permission
                    .as_str()
                    .or_else(|| permission["identifier"].as_str())
                    .unwrap();
                assert!(!id.starts_with("dialog:"), "{} grants {id}", path.display());
            }
            seen += 1;
        }
        assert!(seen > 0);
    }
}
