import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { svelteTesting } from "@testing-library/svelte/vite";

// Tauri serves ui/dist from its own origin; relative asset paths keep the bundle location-independent.
export default defineConfig(({ mode }) => ({
  base: "./",
  plugins: [svelte(), ...(mode === "test" ? [svelteTesting()] : [])],
  clearScreen: false,
  server: { host: "127.0.0.1", port: 1420, strictPort: true },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Inline nothing: the app runs under `default-src 'self'`, so no data: URLs for assets.
    assetsInlineLimit: 0,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
    setupFiles: ["./src/test/setup.ts"],
    restoreMocks: true,
    // Generous: a 10,000-row list renders in well under a second, but a loaded 2-core CI machine is slow.
    testTimeout: 30_000,
  },
}));
