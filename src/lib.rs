//! patdesk: reviews GitHub fine-grained personal access token requests that reach a team
//! mailbox. Each module below owns one part of the flow; the README's module table lists them
//! in the order data flows, with what each may use.

pub mod address;
pub mod alerts;
pub mod backoff;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod conversation;
pub mod daemon;
pub mod deadlines;
pub mod decide;
pub mod github;
pub mod grants;
pub mod hex;
pub mod imap;
pub mod intake;
pub mod lifecycle;
pub mod mail;
pub mod oauth;
pub mod policy;
pub mod report;
pub mod request;
pub mod review;
pub mod shown;
pub mod slack;
pub mod smtp;
pub mod store;
pub mod sync;
pub mod tls;
pub mod upkeep;
pub mod wake;
pub mod webhook;
