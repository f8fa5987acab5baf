//! The daemon's local control socket: how engineers' commands reach the one writer.
//!
//! `patdesk run` listens on a Unix socket (`control.socket`, mode 0660, group
//! `control.group`). The kernel tells it the uid of whoever connects (`SO_PEERCRED`); the
//! daemon maps that uid's OS user to a team member in its *own* config and hands the request
//! to [`crate::decide`] or answers a read. Nothing a caller sends can say who they are. The
//! protocol is one JSON line each way ([`protocol`]); the CLI is its client ([`client`]).

pub mod admission;
pub mod client;
pub mod peer;
pub mod protocol;
pub mod reads;
mod server;

pub use server::{AfterChanges, ControlServer, SyncNow, SyncRequests, answer_directly};
