// The keyboard focus trap shared by modal dialogs and side drawers: what can take focus inside a
// container, focus moved in on open and given back on close, Esc to close, and Tab / Shift+Tab
// wrapping around inside it.

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function focusables(container: HTMLElement): HTMLElement[] {
  return Array.from(container.querySelectorAll<HTMLElement>(FOCUSABLE));
}

/** Keeps Tab inside `container`: from the last control to the first, Shift+Tab the other way. */
export function wrapTab(event: KeyboardEvent, container: HTMLElement): void {
  const items = focusables(container);
  if (items.length === 0) {
    event.preventDefault();
    return;
  }
  const first = items[0];
  const last = items[items.length - 1];
  if (event.shiftKey && (document.activeElement === first || document.activeElement === container)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

/**
 * Moves focus into `container`: to its `[data-autofocus]` element, else to `fallback`. The returned
 * function (an `onMount` cleanup) gives focus back to what had it before, or, when that is gone (a
 * dialog that replaced another one), to the stable `[data-focus-fallback]` control.
 */
export function takeFocus(container: HTMLElement, fallback: () => HTMLElement): () => void {
  const previous = document.activeElement as HTMLElement | null;
  const preferred = container.querySelector<HTMLElement>("[data-autofocus]");
  (preferred ?? fallback()).focus();
  return () => {
    const target = previous && document.contains(previous) && previous !== document.body
      ? previous
      : document.querySelector<HTMLElement>("[data-focus-fallback]");
    target?.focus();
  };
}

/** A modal's keys: Esc (kept from outer handlers) calls `close`; Tab stays inside `container`. */
export function modalKeydown(event: KeyboardEvent, container: HTMLElement, close: () => void): void {
  if (event.key === "Escape") {
    event.stopPropagation();
    event.preventDefault();
    close();
    return;
  }
  if (event.key === "Tab") wrapTab(event, container);
}
