import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { LocateReport } from "../../lib/bindings/LocateReport";
import { appError, makeKey } from "../../test/fakeBackend";
import { makePlace, makeSummary } from "../../test/fakeLocate";
import { oneProfile, pageContains, renderApp } from "../../test/render";

const prod = makeKey({ name: "prod-api" });
const web = makeKey({ name: "web" });
const SECRET = `sk-or-v1-${"ab".repeat(32)}`;

async function openView(setup: (fake: ReturnType<typeof oneProfile>) => void = () => {}) {
  const fake = oneProfile([prod, web]);
  setup(fake);
  const r = renderApp(fake);
  await r.user.click(await screen.findByRole("tab", { name: "Where keys live" }));
  await screen.findByRole("heading", { name: "Where keys live" });
  return { ...r, fake };
}

function fullReport(): LocateReport {
  const stalePlace = (path: string, hash: string) => makePlace({ path, key_hash: hash });
  return {
    folders: ["/home/me/code"],
    last_scan: makeSummary({
      places_found: 5,
      problems: [{ kind: "unreadable", path: "/home/me/code/locked", message: "Permission denied (os error 13)" }],
    }),
    keys: [{
      profile_id: "p1", profile_name: "acme-prod", key_hash: prod.hash, key_name: "prod-api", key_disabled: false,
      places: [makePlace({ path: "/home/me/code/api/.env", key_hash: prod.hash }),
        makePlace({ kind: "keychain", path: "my-app", variable: "prod", line: null, modified_at: null, key_hash: prod.hash })],
    }],
    stale: [
      { place: stalePlace("/home/me/code/api/.env.local", "a".repeat(64)), status: "rotated_away", profile_id: "p1", profile_name: "acme-prod",
        key_name: "prod-api-old", key_disabled: false, replaced_by: { key_hash: prod.hash, key_name: "prod-api", rotated_at: null },
        message: "the old key \"prod-api-old\" (acme-prod) is still in /home/me/code/api/.env.local:1 (OPENROUTER_API_KEY) after the rotation that replaced it with \"prod-api\"" },
      { place: stalePlace("/home/me/code/job/.env", "b".repeat(64)), status: "gone", profile_id: "p1", profile_name: "acme-prod",
        key_name: "job", key_disabled: false, replaced_by: null, message: "/home/me/code/job/.env:1 holds key \"job\" (acme-prod), which no longer exists" },
      { place: stalePlace("/home/me/code/demo/.env.example", "c".repeat(64)), status: "foreign", profile_id: null, profile_name: null,
        key_name: null, key_disabled: false, replaced_by: null, message: "/home/me/code/demo/.env.example:2 (X) holds a key that belongs to no profile of Keyward" },
    ],
  };
}

describe("where keys live", () => {
  it("starts empty, adds a folder through the native picker, and removes one only after confirming", async () => {
    const { user, fake } = await openView();
    expect(await screen.findByText("Choose the folders of your projects.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Scan now" })).toBeDisabled();

    fake.locate.pickNext = "/home/me/code";
    await user.click(screen.getByRole("button", { name: "Add folder…" }));
    expect(await screen.findByText("/home/me/code")).toBeInTheDocument();
    expect(fake.callsOf("locate_folder_pick")).toEqual([{}]);
    expect(screen.getByText("No scan yet", { exact: false })).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Remove /home/me/code" }));
    const confirm = await screen.findByRole("dialog", { name: "Stop scanning this folder?" });
    await user.click(within(confirm).getByRole("button", { name: "Keep it" }));
    expect(screen.getByText("/home/me/code")).toBeInTheDocument();
    expect(fake.callsOf("locate_folder_remove")).toEqual([]);

    await user.click(screen.getByRole("button", { name: "Remove /home/me/code" }));
    await user.click(within(await screen.findByRole("dialog", { name: "Stop scanning this folder?" })).getByRole("button", { name: "Remove folder" }));
    expect(await screen.findByText("Choose the folders of your projects.")).toBeInTheDocument();
    expect(fake.callsOf("locate_folder_remove")).toEqual([{ path: "/home/me/code" }]);
  });

  it("shows a scan's progress and cancels it, keeping the previous findings", async () => {
    const { user, fake } = await openView((fake) => {
      fake.locate.folders = ["/home/me/code"];
      fake.locate.report = fullReport();
      fake.locate.holdScan = true;
    });
    await screen.findByText("Keys found");
    await user.click(screen.getByRole("button", { name: "Scan now" }));
    expect(await screen.findByText("Starting the scan…")).toBeInTheDocument();
    await fake.locate.progress({ dirs_scanned: 40, files_scanned: 3, places_found: 2, current: "/home/me/code/api" });
    expect(await screen.findByText(/Read 40 folders, 3 env files, 2 keys so far/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: /Scanning/ })).toBeDisabled();

    await user.click(screen.getByRole("button", { name: "Cancel scan" }));
    expect(await screen.findByText("Scan cancelled: the previous findings stand.")).toBeInTheDocument();
    expect(fake.callsOf("locate_scan_cancel")).toEqual([{}]);
    expect(screen.getByText("Keys found")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Cancel scan" })).toBeNull();
  });

  it("groups a finished scan: keys with their places, old, deleted and foreign keys, what was skipped", async () => {
    const { user, fake } = await openView((fake) => {
      fake.locate.folders = ["/home/me/code"];
      fake.locate.nextScan = fullReport();
    });
    await screen.findByText("No scan yet", { exact: false });
    await user.click(screen.getByRole("button", { name: "Scan now" }));
    expect(await screen.findByText("Scan finished: 5 keys found.")).toBeInTheDocument();

    const keys = screen.getByRole("region", { name: "Keys found" });
    expect(keys).toHaveTextContent("prod-api");
    expect(keys).toHaveTextContent("in 2 places");
    expect(keys).toHaveTextContent("/home/me/code/api/.env:1 (OPENROUTER_API_KEY)");
    expect(keys).toHaveTextContent("Keychain my-app / prod");
    expect(screen.getByRole("region", { name: "Old keys still in place after a rotation (1)" }))
      .toHaveTextContent("is still in /home/me/code/api/.env.local:1 (OPENROUTER_API_KEY) after the rotation");
    expect(screen.getByRole("region", { name: "Keys that no longer exist (1)" })).toHaveTextContent("no longer exists");
    expect(screen.getByRole("region", { name: "Keys of another account (1)" })).toHaveTextContent("belongs to no profile");
    expect(screen.getByText("Skipped 1 item")).toBeInTheDocument();
    expect(pageContains("/home/me/code/locked")).toBe(true);
    expect(pageContains(SECRET)).toBe(false);
    void fake;
  });

  it("says so when a scan found nothing, and shows a load error with a way to try again", async () => {
    const { user, fake } = await openView((fake) => {
      fake.locate.folders = ["/home/me/code"];
      fake.locate.report = { folders: ["/home/me/code"], last_scan: makeSummary({ files_scanned: 4 }), keys: [], stale: [] };
      fake.failNext("locate_report", appError("store", "cannot open the database"));
    });
    expect(await screen.findByText("cannot open the database")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByText("No OpenRouter key was found in 4 env files.")).toBeInTheDocument();
    await waitFor(() => expect(fake.callsOf("locate_report").length).toBe(2));
  });
});
