// The UI's shared state, in one pattern: each state object is created once at start (`createAppState`,
// by main.ts or a test), handed to the component tree as Svelte context (`appContext`), and taken by
// any component that needs it with `useSession()`, `useWatch()`, `useRotations()` or `useClock()`.
// No state is passed as a prop and none lives in a module singleton, so every test renders over fresh state.
import { getContext } from "svelte";
import { Clock } from "./clock.svelte";
import { Rotations } from "./rotation.svelte";
import { Session } from "./session.svelte";
import { Watch } from "./watch.svelte";
import { Workspaces } from "./workspaces.svelte";

export type AppState = {
  session: Session;
  watch: Watch;
  rotations: Rotations;
  clock: Clock;
  workspaces: Workspaces;
};

const KEY = Symbol("keyward-app-state");

/** The state objects of one window, each made once. */
export function createAppState(): AppState {
  const clock = new Clock();
  const session = new Session();
  return { session, clock, watch: new Watch(session, clock), rotations: new Rotations(), workspaces: new Workspaces() };
}

/** The context to mount the app (or one component in a test) with: `mount(App, { target, context })`. */
export function appContext(state: AppState): Map<symbol, AppState> {
  return new Map([[KEY, state]]);
}

function appState(): AppState {
  const state = getContext<AppState | undefined>(KEY);
  if (!state) throw new Error("no app state in context: mount with `context: appContext(createAppState())`");
  return state;
}

export const useSession = (): Session => appState().session;
export const useWatch = (): Watch => appState().watch;
export const useRotations = (): Rotations => appState().rotations;
export const useClock = (): Clock => appState().clock;
export const useWorkspaces = (): Workspaces => appState().workspaces;
