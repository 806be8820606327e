// The Guardrails view alone, over the app's state and styles, for the browser test until the app
// mounts it as a tab: the page the person will see under "Guardrails", plus the key list below it
// for the Guardrail column.
import { mount } from "svelte";
import "../../../src/app.css";
import "./page.css";
import Harness from "./Harness.svelte";
import { appContext, createAppState } from "../../../src/lib/state";

const target = document.getElementById("app");
if (!target) throw new Error("#app is missing");
const state = createAppState();
void state.session.start();
mount(Harness, { target, context: appContext(state) });
