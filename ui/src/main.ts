import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { appContext, createAppState } from "./lib/state";
import { recordCspViolations } from "./lib/cspReport";

// Before anything renders, so a violation at start-up is recorded too (the e2e suite reads them).
recordCspViolations();

const target = document.getElementById("app");
if (!target) throw new Error("#app is missing from index.html");
// The state objects are made once, here, and reach every component as context (src/lib/state.ts).
export default mount(App, { target, context: appContext(createAppState()) });
