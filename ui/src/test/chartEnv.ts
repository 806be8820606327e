// jsdom draws nothing: no 2D canvas, no Path2D, no matchMedia. Importing this file (first, in a test
// file that shows charts) gives uPlot inert stand-ins, so the real chart code runs and builds its DOM.
const noop = () => {};

// A prefers-color-scheme the test can flip: `setDarkMode(true)` tells every listener, like the OS would.
const schemeListeners = new Set<(event: { matches: boolean }) => void>();
let dark = false;
export function setDarkMode(on: boolean): void {
  dark = on;
  for (const listener of [...schemeListeners]) listener({ matches: on });
}

window.matchMedia = (query: string) => {
  const scheme = query.includes("prefers-color-scheme");
  return {
    get matches() { return scheme && dark; },
    media: query, onchange: null,
    addEventListener: (_type: string, listener: (event: { matches: boolean }) => void) => { if (scheme) schemeListeners.add(listener); },
    removeEventListener: (_type: string, listener: (event: { matches: boolean }) => void) => { schemeListeners.delete(listener); },
    addListener: noop, removeListener: noop, dispatchEvent: () => false,
  } as unknown as MediaQueryList;
};

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
