// "Check for updates…": one dialog for the whole app (src/components/update/UpdateDialog.svelte),
// opened from the tray (the `update-check-open` event, or asked once at start), from App and from
// the About dialog through `checkForUpdates()`.
export const updates = $state({ open: false });

/** Opens the update dialog, which checks at once. */
export function checkForUpdates(): void {
  updates.open = true;
}

export function closeUpdates(): void {
  updates.open = false;
}
