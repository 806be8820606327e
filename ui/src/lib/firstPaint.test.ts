import { describe, expect, it } from "vitest";
import { FirstPaintMark } from "./firstPaint";

describe("FirstPaintMark", () => {
  function setUp() {
    const sent: number[] = [];
    const scheduled: Array<() => void> = [];
    const mark = new FirstPaintMark(
      async (rows) => void sent.push(rows),
      (then) => void scheduled.push(then),
    );
    return { mark, sent, scheduled };
  }

  it("reports only after the frame, and only the first table", () => {
    const { mark, sent, scheduled } = setUp();
    mark.mark(1000);
    expect(sent).toEqual([]);
    expect(scheduled).toHaveLength(1);
    scheduled[0]();
    expect(sent).toEqual([1000]);
    mark.mark(10);
    expect(scheduled).toHaveLength(1);
    expect(sent).toEqual([1000]);
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
