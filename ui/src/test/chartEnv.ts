// jsdom draws nothing: no 2D canvas, no Path2D, no matchMedia. Importing this file (first, in a test
// file that shows charts) gives uPlot inert stand-ins, so the real chart code runs and builds its DOM.
const noop = () => {};

if (typeof window.matchMedia !== "function") {
  window.matchMedia = (query: string) => ({
    matches: false, media: query, onchange: null,
    addEventListener: noop, removeEventListener: noop, addListener: noop, removeListener: noop, dispatchEvent: () => false,
  }) as MediaQueryList;
}

if (typeof globalThis.Path2D !== "function") {
  globalThis.Path2D = class {
    addPath = noop; closePath = noop; moveTo = noop; lineTo = noop; bezierCurveTo = noop; quadraticCurveTo = noop;
    arc = noop; arcTo = noop; ellipse = noop; rect = noop; roundRect = noop;
  } as unknown as typeof Path2D;
}

/** Every drawing call is accepted and ignored; text measures 6 px per character. */
function fakeContext(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const state: Record<string | symbol, unknown> = { canvas };
  return new Proxy(state, {
    get(target, prop) {
      if (prop in target) return target[prop];
      if (prop === "measureText") return (text: string) => ({ width: text.length * 6, actualBoundingBoxAscent: 8, actualBoundingBoxDescent: 2 });
      if (prop === "getLineDash") return () => [];
      return noop;
    },
    set(target, prop, value) {
      target[prop] = value;
      return true;
    },
  }) as unknown as CanvasRenderingContext2D;
}

HTMLCanvasElement.prototype.getContext = function (this: HTMLCanvasElement) {
  return fakeContext(this);
} as unknown as typeof HTMLCanvasElement.prototype.getContext;
