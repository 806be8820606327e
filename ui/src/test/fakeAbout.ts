// The fake shell's About, diagnostics, crash notes and log folder (about_*, diagnostics_copy,
// crash_*, log_folder_open).
import type { AboutInfo } from "../lib/bindings/AboutInfo";
import type { CrashReport } from "../lib/bindings/CrashReport";

export class FakeAbout {
  info: AboutInfo = {
    name: "Keyward",
    version: "0.1.0",
    commit: "abc1234def56",
    tauri_version: "2.12.5",
    webview_version: "WebKitGTK 2.48.1",
    platform: "linux x86_64",
    license: "MIT",
    homepage: "https://github.com/keyward-app/keyward",
    issues_url: "https://github.com/keyward-app/keyward/issues",
    docs_url: "https://github.com/keyward-app/keyward#readme",
    log_dir: "/home/me/.local/share/dev.keyward.app/logs",
    data_dir: "/home/me/.local/share/dev.keyward.app",
  };
  /** The diagnostics text `diagnostics_copy` answers (the real one is made and redacted in Rust). */
  diagnostics = "App: Keyward 0.1.0\nCommit: abc1234def56\nRecent warnings and errors (0):\n(none)\n";
  /** The unseen crash note, if any. */
  crash: CrashReport | null = null;
  /** What went to the clipboard, in order. */
  clipboard: string[] = [];
  openedLinks: string[] = [];
  logFolderOpened = 0;
  /** Set by the tray's "About Keyward" while the window was closed. */
  pendingOpen = false;

  handles(cmd: string): boolean {
    return cmd.startsWith("about_") || cmd.startsWith("crash_") || cmd === "diagnostics_copy" || cmd === "log_folder_open";
  }

  run(cmd: string, a: Record<string, unknown>): unknown {
    switch (cmd) {
      case "about_info":
        return this.info;
      case "diagnostics_copy":
        this.clipboard.push(this.diagnostics);
        return { text: this.diagnostics };
      case "crash_latest":
        return this.crash;
      case "crash_copy":
        if (!this.crash || this.crash.id !== a.id) throw { kind: "invalid_input", message: "id: not a crash note's name", field: "id", retry_after_ms: null };
        this.clipboard.push(this.crash.text);
        return null;
      case "crash_dismiss":
        if (!this.crash || this.crash.id !== a.id) throw { kind: "invalid_input", message: "id: not a crash note's name", field: "id", retry_after_ms: null };
        this.crash = null;
        return null;
      case "log_folder_open":
        this.logFolderOpened++;
        return null;
      case "about_link_open":
        this.openedLinks.push(String(a.link));
        return null;
      case "about_open_take": {
        const was = this.pendingOpen;
        this.pendingOpen = false;
        return was;
      }
    }
    throw new Error(`FakeAbout: no command ${cmd}`);
  }
}
