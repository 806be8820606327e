// The rotation and deploy types, as generated from Rust by ts-rs into src/lib/bindings/ (the truth:
// what the shell sends). One import point for the rotation UI.
export type { Attachment } from "./bindings/Attachment";
export type { DeployOutcome } from "./bindings/DeployOutcome";
export type { DeployTarget } from "./bindings/DeployTarget";
export type { DeployUndo } from "./bindings/DeployUndo";
export type { DrainView } from "./bindings/DrainView";
export type { NewExpiry } from "./bindings/NewExpiry";
export type { PlannedRotation } from "./bindings/PlannedRotation";
export type { RotationAction } from "./bindings/RotationAction";
export type { RotationActionArgs } from "./bindings/RotationActionArgs";
export type { RotationBatchArgs } from "./bindings/RotationBatchArgs";
export type { RotationKeyArgs } from "./bindings/RotationKeyArgs";
export type { RotationPlan } from "./bindings/RotationPlan";
export type { RotationPolicy } from "./bindings/RotationPolicy";
export type { RotationStartArgs } from "./bindings/RotationStartArgs";
export type { RotationStatus } from "./bindings/RotationStatus";
export type { RotationStepName } from "./bindings/RotationStepName";
export type { RotationStepStatus } from "./bindings/RotationStepStatus";
export type { RotationStepView } from "./bindings/RotationStepView";
export type { RotationView } from "./bindings/RotationView";
export type { RotationsListArgs } from "./bindings/RotationsListArgs";
