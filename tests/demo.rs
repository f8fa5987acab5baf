//! The README's first command, `scripts/demo` (and `scripts/demo --oauth`), run as written:
//! patdesk's main job end to end on this machine. A change that breaks the walk-through (a
//! request numbered otherwise, a message reworded, a step that no longer works) fails here
//! rather than in front of a newcomer.

use std::process::Command;

mod common;

/// Whether the project's Dovecot runs.
fn mail_server_running() -> bool {
    let status = Command::new("scripts/mailserver")
        .arg("status")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("scripts/mailserver status runs");
    String::from_utf8_lossy(&status.stdout).contains("dovecot running")
}

#[test]
fn the_demo_walks_a_request_from_githubs_mail_to_an_approval_on_github() {
    // The other tests share the mail servers scripts/test started: the demo must leave them.
    let running_before = mail_server_running();
    // Run with sudo, the demo's engineer is the one who ran it; as root alone, an account of
    // the demo's own (root never decides).
    let invoker = common::users::os_user(common::users::BOB).name;
    for (args, sudo_user, engineer) in [
        (&[][..], None, "patdesk-demo"),
        (&["--oauth"][..], Some(invoker), invoker),
    ] {
        let mut demo = Command::new("scripts/demo");
        demo.args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("SUDO_USER");
        if let Some(user) = sudo_user {
            demo.env("SUDO_USER", user);
        }
        let output = demo.output().expect("scripts/demo runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "scripts/demo {args:?} failed:\n{stdout}\n{stderr}"
        );
        for expected in [
            // The digest reached the mailbox and the requests were recorded from GitHub, the
            // outside collaborator's waiting for an address.
            "needs_contact",
            // carol's answer threaded back and acknowledged in her thread.
            "Subject: Thank you: we have the purpose of \"ci-reader\"",
            "Address recorded for PAT-",
            // carol's request posted to the Slack stand-in, approved there by alice's click,
            // the message updated and the event naming her Slack IDs.
            "Approve\n   | Deny\n   | Show in full",
            "Approved by alice",
            "\"authenticated_by\": \"slack_user_id\"",
            // The approval carried to GitHub and told to erin.
            "is approved (by ",
            "\"action\":\"approve\"",
            "Subject: Approved: your token \"handbook docs-sync\"",
            "audit log intact",
            &format!("you are alice in the demo, as the OS account {engineer}\n"),
        ]
        .map(|expected| expected.to_string())
        {
            assert!(
                stdout.contains(&expected),
                "scripts/demo {args:?}: {expected:?} missing from:\n{stdout}"
            );
        }
        assert_eq!(
            mail_server_running(),
            running_before,
            "scripts/demo {args:?} stops only the mail servers it started"
        );
    }
}
