//! librasp's decision logic, free of FFI so every rule is testable with plain `cargo test`.
//!
//! The agent (`librasp.so`) captures raw request bytes and sink arguments; everything that
//! decides lives here:
//!
//! * [`extract`] turns captured bytes into [`Inputs`] (decoded user values with their origin);
//! * [`detect`] holds one detector per sink family; each tokenizes the sink argument by its own
//!   grammar and reports a [`Finding`] only when an input changes that structure;
//! * [`config`] is the operator's TOML policy;
//! * [`engine`] ties them together: sink + inputs + policy → [`Decision`].
//!
//! Invariants: nothing here panics on any input (hostile bytes included), allocates without a
//! bound, or touches the process environment; the agent relies on that to stay fail-open.
#![forbid(unsafe_code)]

pub mod allow;
pub mod config;
pub mod detect;
pub mod engine;
pub mod extract;
pub mod finding;
pub mod input;
pub mod pattern;
pub mod program;
pub mod response;
pub mod rules;
pub mod sink;
pub mod suggest;
pub mod wire;

pub use config::{Mode, Policy};
pub use engine::{Action, Allowed, Decision, Engine};
pub use finding::{Confidence, DetectorKind, Finding};
pub use input::{Input, InputRef, InputSet, Inputs};
pub use response::Response;
pub use sink::{Sink, SqlDialect};
