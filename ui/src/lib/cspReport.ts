// Content-Security-Policy violations of this page, kept where a test can read them: the app ships a
// CSP without 'unsafe-inline' (src-tauri/tauri.conf.json), and the end-to-end suite checks that the
// real window never ran into it. Only the directive and the blocked URI are kept (no sample text).

export interface CspViolation {
  directive: string;
  blocked: string;
}

declare global {
  interface Window {
    __kwCspViolations?: CspViolation[];
  }
}

/** Starts recording; call once, before the app mounts. */
export function recordCspViolations(target: Window = window): CspViolation[] {
  const seen: CspViolation[] = (target.__kwCspViolations ??= []);
  target.document.addEventListener("securitypolicyviolation", (event) => {
    seen.push({ directive: event.effectiveDirective || event.violatedDirective, blocked: event.blockedURI });
  });
  return seen;
}
