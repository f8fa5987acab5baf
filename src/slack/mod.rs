//! Decisions where the team works: the team's Slack channel, over Socket Mode (an outgoing
//! WebSocket; no public URL). Slack is an edge like IMAP and GitHub: [`api`] speaks its Web
//! API, [`socket`] keeps the connection, [`interaction`] reads and checks what arrives,
//! [`message`] renders a request for the channel, and [`decisions`] turns a checked click by a
//! mapped member into the same `decide` call the CLI makes.

pub mod api;
pub mod decisions;
pub mod interaction;
pub mod message;
pub mod publish;
pub mod socket;

pub use api::{SlackError, WebApi};
