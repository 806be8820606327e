// How a found place reads in the UI: `/app/.env:3 (OPENROUTER_API_KEY)` or `Keychain my-app / prod`
// (the same words as `Place::describe` in core/src/locate).
import type { Place } from "../../lib/bindings/Place";
import type { PlaceStatus } from "../../lib/bindings/PlaceStatus";

export function placeText(place: Place): string {
  if (place.kind === "keychain") return `Keychain ${place.path} / ${place.variable}`;
  const line = place.line === null ? "" : `:${place.line}`;
  return place.variable ? `${place.path}${line} (${place.variable})` : `${place.path}${line}`;
}

export function placesCount(n: number): string {
  return `${n} ${n === 1 ? "place" : "places"}`;
}

export const STATUS_TITLE: Record<Exclude<PlaceStatus, "live">, string> = {
  rotated_away: "Old keys still in place after a rotation",
  gone: "Keys that no longer exist",
  foreign: "Keys of another account",
};

export const STATUS_HINT: Record<Exclude<PlaceStatus, "live">, string> = {
  rotated_away: "A rotation replaced these keys, but these files still hold the old one: put the new key there, or remove the line.",
  gone: "Keyward knew these keys (a rotation made or replaced them) and they have been deleted: these lines no longer work.",
  foreign: "No profile of Keyward lists these keys: another account's, or keys Keyward never saw. Add that account as a profile to know more.",
};
