//! Decisions beyond one member's: two-person approval, grants for a time, and the team's
//! policy deciding. One test binary, a module each.

#[path = "../common/mod.rs"]
mod common;

mod approvals;
mod enforce;
mod grants;
