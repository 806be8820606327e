import { describe, expect, it } from "vitest";
import type { StartupPaintedArgs } from "./bindings/StartupPaintedArgs";
import { FirstPaintMark } from "./firstPaint";

describe("FirstPaintMark", () => {
  function setUp() {
    const sent: StartupPaintedArgs[] = [];
    const scheduled: Array<() => void> = [];
    const mark = new FirstPaintMark(
      async (args) => void sent.push(args),
      (then) => void scheduled.push(then),
    );
    return { mark, sent, scheduled };
  }

  it("reports only after the frame, and only the first table", () => {
    const { mark, sent, scheduled } = setUp();
    mark.keysArrived();
    mark.mark(1000);
    expect(sent).toEqual([]);
    expect(scheduled).toHaveLength(1);
    scheduled[0]();
    expect(sent.map((s) => s.rows)).toEqual([1000]);
    // The page's clock: the script ran before the rows were in the DOM, and they before the paint.
    const [{ script_ms, keys_ms, rows_ms, painted_ms }] = sent;
    expect(script_ms).toBeLessThanOrEqual(keys_ms);
    expect(keys_ms).toBeLessThanOrEqual(rows_ms);
    expect(rows_ms).toBeLessThanOrEqual(painted_ms);
    mark.mark(10);
    expect(scheduled).toHaveLength(1);
    expect(sent).toHaveLength(1);
  });

  it("waits for a table with rows", () => {
    const { mark, scheduled } = setUp();
    mark.mark(0);
    expect(mark.sent).toBe(false);
    expect(scheduled).toHaveLength(0);
    mark.mark(3);
    expect(mark.sent).toBe(true);
  });

  it("ignores a shell that rejects the report", async () => {
    const mark = new FirstPaintMark(() => Promise.reject(new Error("no shell")), (then) => then());
    expect(() => mark.mark(1)).not.toThrow();
    await Promise.resolve();
  });
});
