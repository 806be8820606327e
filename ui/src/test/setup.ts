// Test environment: jest-dom matchers, a clean Tauri mock per test, and a plausible size for the
// virtualized list's scroll box (jsdom has no layout, so clientHeight would be 0).
import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/svelte";
import { clearMocks } from "@tauri-apps/api/mocks";
import { afterEach } from "vitest";

afterEach(() => {
  cleanup();
  clearMocks();
});

const realClientHeight = Object.getOwnPropertyDescriptor(Element.prototype, "clientHeight");
Object.defineProperty(Element.prototype, "clientHeight", {
  configurable: true,
  get(this: Element) {
    if (this.hasAttribute("data-virtual-scroll")) return 600;
    return realClientHeight?.get?.call(this) ?? 0;
  },
});
const realClientWidth = Object.getOwnPropertyDescriptor(Element.prototype, "clientWidth");
Object.defineProperty(Element.prototype, "clientWidth", {
  configurable: true,
  get(this: Element) {
    if (this.hasAttribute("data-virtual-scroll")) return 1200;
    return realClientWidth?.get?.call(this) ?? 0;
  },
});
