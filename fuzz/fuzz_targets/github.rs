//! Any bytes as GitHub's JSON answers: the pending-request pages (then recorded and reviewed
//! as the sync does), grants, repositories and installation tokens. `scripts/fuzz` runs it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patdesk::github::{Grant, InstallationToken, PendingRequest, Repository};
use patdesk::review::{ReviewPolicy, review};

fuzz_target!(|data: &[u8]| {
    if let Ok(pending) = serde_json::from_slice::<Vec<PendingRequest>>(data) {
        for request in &pending {
            if let Ok(token) = patdesk::sync::token_request("acme-corp", request) {
                let _ = review(&token, &ReviewPolicy::default(), jiff::Timestamp::now());
            }
        }
    }
    let _ = serde_json::from_slice::<Vec<Grant>>(data);
    let _ = serde_json::from_slice::<Vec<Repository>>(data);
    let _ = serde_json::from_slice::<InstallationToken>(data);
});
