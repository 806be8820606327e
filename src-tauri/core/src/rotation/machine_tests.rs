//! Unit tests of the rotation state machine: every transition, every failure at every step.
use super::*;
