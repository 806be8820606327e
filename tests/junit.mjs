// A minimal JUnit XML report for our own runners (ui/tests/browser/run.mjs, tests/e2e/harness.mjs):
// `cargo xtask test` reads the counts from it instead of from the console.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

// XML 1.0 allows neither these control characters (terminal colours) nor unescaped markup.
const text = (value) =>
  String(value)
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, "")
    .replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]);

/** Writes `cases` ({ name, seconds, failure? }) as one test suite to `path`; no path, no file. */
export function writeJunit(path, suite, cases) {
  if (!path) return;
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const body = cases
    .map((c) => {
      const open = `    <testcase classname="${text(suite)}" name="${text(c.name)}" time="${c.seconds.toFixed(3)}"`;
      return c.failure === undefined
        ? `${open}/>`
        : `${open}>\n      <failure message="${text(String(c.failure).split("\n")[0])}">${text(c.failure)}</failure>\n    </testcase>`;
    })
    .join("\n");
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(
    path,
    `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${cases.length}" failures="${failures}">\n` +
      `  <testsuite name="${text(suite)}" tests="${cases.length}" failures="${failures}">\n${body}\n  </testsuite>\n</testsuites>\n`,
  );
}
