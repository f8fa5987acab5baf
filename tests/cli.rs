//! The `patdesk` binary as a user runs it: output, errors and exit codes.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

use common::{CORPUS_AUTHSERV_ID, fixtures, fixtures_dir};

/// The `patdesk parse --json` contract, in order.
const CONTRACT_FIELDS: &[&str] = &[
    "kind",
    "message_id",
    "from",
    "recipients",
    "subject",
    "authenticity",
    "org_login",
    "org_name",
    "review_url",
    "token_names",
    "expires_in_days",
    "decision",
    "decision_reason",
    "reply_text",
    "in_reply_to",
    "references",
    "automatic_reason",
    "failed_recipients",
    "original_message_id",
];

fn patdesk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patdesk"))
        .args(args)
        .env_remove("PATDESK_CONFIG")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .expect("patdesk runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

#[test]
fn parse_json_follows_the_contract_on_every_fixture() {
    for fixture in fixtures() {
        let path = fixture.eml.to_str().expect("UTF-8 path");
        let output = patdesk(&[
            "parse",
            path,
            "--json",
            "--trusted-authserv-id",
            CORPUS_AUTHSERV_ID,
        ]);
        assert_eq!(output.status.code(), Some(0), "{path}: {}", stderr(&output));
        let text = stdout(&output);
        assert_eq!(
            text.trim_end().lines().count(),
            1,
            "{path}: one line of JSON expected"
        );

        // Exactly the contract's fields (the map sorts them), and in the contract's order in
        // the text itself.
        let object: serde_json::Map<String, Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        let mut expected_keys = CONTRACT_FIELDS.to_vec();
        expected_keys.sort_unstable();
        assert_eq!(keys, expected_keys, "{path}: field set");
        assert!(
            object.values().all(|value| !value.is_object()),
            "{path}: the object must be flat"
        );
        let in_order: Vec<usize> = CONTRACT_FIELDS
            .iter()
            .map(|field| text.find(&format!("\"{field}\":")).expect("field present"))
            .collect();
        assert!(
            in_order.windows(2).all(|pair| pair[0] < pair[1]),
            "{path}: field order"
        );

        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture.eml.with_extension("json")).expect("expected file"),
        )
        .expect("expected JSON");
        assert_eq!(Value::Object(object), expected, "{path}");
    }
}

#[test]
fn parse_shows_a_readable_summary() {
    let digest = fixtures_dir().join("github_pat_requests_pending/digest-plain-verified.eml");
    let output = patdesk(&["parse", digest.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.starts_with("kind"), "{text}");
    assert!(text.contains("github_pat_requests_pending"), "{text}");
    assert!(text.contains("org login     acme-corp"), "{text}");
    assert!(text.contains("authenticity  unverified"), "{text}");

    let reply = fixtures_dir().join("human/thunderbird-inline-answers.eml");
    let text = stdout(&patdesk(&["parse", reply.to_str().expect("path")]));
    assert!(
        text.contains("reply text:\n  | It keeps issue labels"),
        "{text}"
    );
}

#[test]
fn trusted_authserv_ids_come_from_the_flag_or_the_config() {
    let digest = fixtures_dir().join("github_pat_requests_pending/digest-plain-verified.eml");
    let digest = digest.to_str().expect("path");
    let authenticity = |output: Output| -> Value {
        let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        json["authenticity"].clone()
    };
    assert_eq!(
        authenticity(patdesk(&["parse", digest, "--json"])),
        "unverified"
    );
    assert_eq!(
        authenticity(patdesk(&[
            "parse",
            digest,
            "--json",
            "--trusted-authserv-id",
            "other.example"
        ])),
        "unverified"
    );
    assert_eq!(
        authenticity(patdesk(&[
            "parse",
            digest,
            "--json",
            "--trusted-authserv-id",
            "MX.EXAMPLE.ORG"
        ])),
        "verified"
    );

    let dir = TempDir::new().expect("temp dir");
    let config = dir.path().join("patdesk.toml");
    std::fs::write(
        &config,
        "[mail]\ntrusted_authserv_ids = [\"mx.example.org\"]\n",
    )
    .expect("write");
    let config = config.to_str().expect("path");
    assert_eq!(
        authenticity(patdesk(&["parse", digest, "--json", "--config", config])),
        "verified"
    );
}

#[test]
fn parse_reads_standard_input() {
    let raw = std::fs::read(fixtures_dir().join("bounce/postfix-dsn-with-original.eml"))
        .expect("fixture");
    let mut child = Command::new(env!("CARGO_BIN_EXE_patdesk"))
        .args(["parse", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&raw)
        .expect("write");
    let output = child.wait_with_output().expect("wait");
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["kind"], "bounce");
    assert_eq!(
        json["failed_recipients"],
        serde_json::json!(["nobody@example.net"])
    );
}

#[test]
fn parse_of_an_unreadable_file_fails_clearly() {
    let output = patdesk(&["parse", "/nonexistent/mail.eml", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let message = stderr(&output);
    assert!(
        message.contains("cannot read mail file /nonexistent/mail.eml"),
        "{message}"
    );
}

#[test]
fn parse_with_a_broken_config_fails_with_the_config_exit_code() {
    let dir = TempDir::new().expect("temp dir");
    let config = dir.path().join("patdesk.toml");
    std::fs::write(&config, "[mail]\nmax_message_bytes = \"big\"\n").expect("write");
    let mail = fixtures_dir().join("other/no-from-header.eml");
    let output = patdesk(&[
        "parse",
        mail.to_str().expect("path"),
        "--config",
        config.to_str().expect("path"),
    ]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("max_message_bytes"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_bad_argument_says_what_is_accepted() {
    let output = patdesk(&["parse"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("<FILE>"), "{}", stderr(&output));
    // The values a filter takes are listed, in the help and when one is wrong.
    let help = stdout(&patdesk(&["list", "--help"]));
    assert!(
        help.contains("awaiting_purpose, in_review")
            && help.contains("low, medium, high, critical"),
        "{help}"
    );
    let output = patdesk(&["list", "--state", "pending"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("in_review"), "{}", stderr(&output));
    let output = patdesk(&["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("check-config"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn check_config_reports_a_valid_file_without_showing_secrets() {
    let dir = TempDir::new().expect("temp dir");
    let secret = dir.path().join("signing-key");
    std::fs::write(&secret, "very-secret-value").expect("write");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let config = dir.path().join("patdesk.toml");
    std::fs::write(&config, "[signing]\nkey = { file = \"signing-key\" }\n").expect("write");

    let output = patdesk(&["check-config", "--config", config.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("is valid"), "{text}");
    assert!(text.contains("signing-key"), "{text}");
    assert!(
        text.contains("not configured: mailbox, smtp, github, team.members"),
        "{text}"
    );
    assert!(!text.contains("very-secret-value"), "{text}");

    // With --json, the same as one object.
    let output = patdesk(&[
        "check-config",
        "--json",
        "--config",
        config.to_str().expect("path"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("one JSON object");
    assert_eq!(report["valid"], true, "{report}");
    assert!(
        report["sections"]["signing"]
            .as_str()
            .is_some_and(|s| s.contains("signing-key")),
        "{report}"
    );
    assert_eq!(
        report["not_configured"],
        serde_json::json!(["mailbox", "smtp", "github", "team.members"])
    );
    assert!(!stdout(&output).contains("very-secret-value"));
}

#[test]
fn check_config_names_the_file_and_key_of_a_mistake() {
    let dir = TempDir::new().expect("temp dir");
    let config = dir.path().join("patdesk.toml");
    std::fs::write(
        &config,
        "[smtp]\nhost = \"smtp.example.org\"\nfrom = \"ops@example.org\"\nusername = \"ops\"\n",
    )
    .expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_patdesk"))
        .args(["check-config"])
        .env("PATDESK_CONFIG", &config)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(3));
    let message = stderr(&output);
    assert!(
        message.contains(config.to_str().expect("path")),
        "{message}"
    );
    assert!(
        message.contains("`smtp.password` (line 1, column 2): is missing"),
        "{message}"
    );
}

/// `check-config` on a config whose templates folder holds a denial reading `body`.
fn check_config_with_denial(body: &str) -> std::process::Output {
    let dir = TempDir::new().expect("temp dir");
    std::fs::create_dir(dir.path().join("templates")).expect("dir");
    std::fs::write(dir.path().join("templates/denial.txt"), body).expect("write");
    let config = dir.path().join("patdesk.toml");
    std::fs::write(&config, "[mail]\ntemplates_dir = \"templates\"\n").expect("write");
    patdesk(&["check-config", "--config", config.to_str().expect("path")])
}

#[test]
fn check_config_names_a_template_that_does_not_render() {
    let output = check_config_with_denial("Subject: No\n\n{{ reasn }}\n");
    assert_eq!(output.status.code(), Some(3));
    let message = stderr(&output);
    assert!(
        message.contains("denial") && message.contains("undefined"),
        "{message}"
    );
}

#[test]
fn check_config_renders_every_template() {
    let output = check_config_with_denial("Subject: No\n\n{{ reason }}\n");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("each renders"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn check_config_says_what_a_provider_preset_filled_in() {
    let dir = TempDir::new().expect("temp dir");
    let secret = dir.path().join("refresh-token");
    std::fs::write(&secret, "a refresh token").expect("write");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let config = dir.path().join("patdesk.toml");
    std::fs::write(
        &config,
        "[mailbox]\nprovider = \"gmail\"\nusername = \"pat@example.org\"\nsign_in = \"oauth2\"\n\
         address = \"pat@example.org\"\nsent_copy = \"append\"\n\
         [oauth2]\nflow = \"refresh_token\"\nclient_id = \"c\"\nrefresh_token = { file = \"refresh-token\" }\n\
         token_url = \"https://oauth2.googleapis.com/token\"\n",
    )
    .expect("write");
    let output = patdesk(&["check-config", "--config", config.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    for line in [
        "filled by mailbox.provider = \"gmail\": mailbox.host = \"imap.gmail.com\"",
        "filled by mailbox.provider = \"gmail\": mailbox.sent_folder = \"[Gmail]/Sent Mail\"",
        "imap.gmail.com:993 (TLS)",
        "OAuth 2 token from [oauth2]",
        "refresh token of c",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    // What the admin wrote is theirs, not the preset's.
    assert!(!out.contains("mailbox.sent_copy"), "{out}");
    assert!(out.contains("appended by patdesk"), "{out}");
    assert!(!out.contains("a refresh token"), "the secret shows: {out}");
}

#[test]
fn version_completions_and_the_man_page_come_from_the_cli_definition() {
    let version = patdesk(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        stdout(&version).trim(),
        format!("patdesk {}", env!("CARGO_PKG_VERSION"))
    );

    let bash = patdesk(&["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0), "{}", stderr(&bash));
    let script = stdout(&bash);
    assert!(
        script.contains("complete -F _patdesk")
            && script.contains("approve")
            && script.contains("status"),
        "{script}"
    );
    let unknown = patdesk(&["completions", "tcsh"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("bash"), "{}", stderr(&unknown));

    let man = patdesk(&["man"]);
    assert_eq!(man.status.code(), Some(0), "{}", stderr(&man));
    let page = stdout(&man);
    assert!(page.contains(".TH patdesk 1"), "{page}");
    for command in ["approve", "status", "run", "audit"] {
        assert!(
            page.contains(command),
            "{command} missing from the man page"
        );
    }
    for section in [
        ".SH \"EXIT STATUS\"",
        ".SH \"FILES\"",
        ".SH \"ENVIRONMENT\"",
    ] {
        assert!(
            page.contains(section),
            "{section} missing from the man page"
        );
    }
    assert!(page.contains("/etc/patdesk/credentials/"), "{page}");
}

/// `status` with nothing on the socket: unhealthy, and the reason said once.
#[test]
fn status_says_once_that_the_daemon_is_not_running() {
    let dir = TempDir::new().expect("temp dir");
    let config = dir.path().join("patdesk.toml");
    let socket = dir.path().join("control.sock");
    std::fs::write(
        &config,
        format!("[control]\nsocket = \"{}\"\n", socket.display()),
    )
    .expect("write");
    let output = patdesk(&["status", "--config", config.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(7));
    let message = stderr(&output);
    assert_eq!(message.matches("not running").count(), 1, "{message}");
}

/// A command's own options first; the ones every command takes under a heading of their own.
#[test]
fn a_commands_help_lists_the_global_options_apart() {
    let help = stdout(&patdesk(&["approve", "--help"]));
    let (own, global) = help
        .split_once("Global options:")
        .unwrap_or_else(|| panic!("no global section: {help}"));
    assert!(
        own.contains("--reason") && !own.contains("--config"),
        "{help}"
    );
    assert!(
        global.contains("--config")
            && global.contains("--json")
            && global.contains("--break-glass"),
        "{help}"
    );
}

/// The package ships one page: it names no page of a command that is not there.
#[test]
fn the_man_page_names_each_command_as_it_is_typed() {
    let page = stdout(&patdesk(&["man"]));
    assert!(
        !page
            .lines()
            .any(|line| line.starts_with("patdesk\\-") && line.ends_with("(1)")),
        "{page}"
    );
    assert!(page.contains("\\fBpatdesk list\\fR"), "{page}");
    assert!(
        page.contains("\\fBpatdesk\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR"),
        "{page}"
    );
}

/// The Debian package ships the man page and completions committed in packaging/: they must
/// be what this binary prints, or the installed help describes another version.
#[test]
fn the_packaged_man_page_and_completions_are_the_binarys_own() {
    let packaging = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging");
    for (args, file) in [
        (&["man"][..], "patdesk.1"),
        (&["completions", "bash"][..], "completions/patdesk.bash"),
        (&["completions", "zsh"][..], "completions/_patdesk"),
        (&["completions", "fish"][..], "completions/patdesk.fish"),
    ] {
        let printed = patdesk(args);
        assert_eq!(printed.status.code(), Some(0), "{}", stderr(&printed));
        let committed = std::fs::read_to_string(packaging.join(file)).expect("packaging file");
        assert!(
            stdout(&printed) == committed,
            "packaging/{file} is not what `patdesk {}` prints: run scripts/package-files",
            args.join(" ")
        );
    }
}

#[test]
fn check_config_warns_of_members_and_groups_this_host_does_not_have() {
    let dir = TempDir::new().expect("temp dir");
    let config = dir.path().join("patdesk.toml");
    std::fs::write(
        &config,
        "[team.members]\nalice = { unix = \"nobody\" }\nghost = { unix = \"no-such-user-pd\" }\n\
         [control]\ngroup = \"no-such-group-pd\"\n",
    )
    .expect("write");
    let output = patdesk(&["check-config", "--config", config.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("alice (OS user nobody), ghost (OS user no-such-user-pd)"),
        "{text}"
    );
    assert!(
        text.contains(
            "warning: team.members.ghost: the OS user \"no-such-user-pd\" does not exist"
        ),
        "{text}"
    );
    assert!(!text.contains("team.members.alice:"), "{text}");
    assert!(
        text.contains("warning: control.group: the group \"no-such-group-pd\" does not exist"),
        "{text}"
    );
}

/// `patdesk … | head -c 10`: the reader goes away early; the command ends quietly with 0.
#[test]
fn a_closed_pipe_ends_the_output_quietly_with_success() {
    let mut big = b"From: Carol <carol@example.org>\r\nSubject: logs\r\n\r\n".to_vec();
    for _ in 0..30_000 {
        big.extend_from_slice(b"The logs of the nightly job, line after line after line.\r\n");
    }
    let dir = TempDir::new().expect("dir");
    let mail = dir.path().join("big.eml");
    std::fs::write(&mail, &big).expect("write the mail");
    let mail = mail.to_str().expect("UTF-8 path");
    // Both answers are near 2 MB, far more than a pipe holds: the writer meets the closed pipe.
    for args in [vec!["parse", "--json", mail], vec!["parse", mail]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_patdesk"))
            .args(&args)
            .env_remove("PATDESK_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("patdesk runs");
        let mut first = [0u8; 10];
        std::io::Read::read_exact(child.stdout.as_mut().expect("stdout"), &mut first)
            .expect("the first bytes");
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("patdesk ends");
        assert_eq!(
            output.status.code(),
            Some(0),
            "patdesk {args:?} after its reader left: {}",
            stderr(&output)
        );
        assert_eq!(stderr(&output), "", "patdesk {args:?} says nothing of it");
    }
}

/// With `--json`, an error is one JSON object on standard error, with the exit code in it.
#[test]
fn with_json_an_error_is_one_json_object_with_its_exit_code() {
    let dir = TempDir::new().expect("dir");
    let missing = dir.path().join("nowhere.toml");
    let missing = missing.to_str().expect("UTF-8 path");
    let output = patdesk(&["list", "--json", "--config", missing]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let text = stderr(&output);
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    let error: Value = serde_json::from_str(&text).expect("a JSON object");
    assert_eq!(error["exit_code"], 3, "{error}");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|message| message.contains("nowhere.toml")),
        "{error}"
    );
    assert_eq!(stdout(&output), "", "nothing on standard output");
    // A mistyped command line too.
    let output = patdesk(&["list", "--json", "--state", "pending"]);
    assert_eq!(output.status.code(), Some(2));
    let error: Value = serde_json::from_str(stderr(&output).trim()).expect("a JSON object");
    assert_eq!(error["exit_code"], 2, "{error}");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|m| m.contains("in_review")),
        "{error}"
    );
    // Without --json, the readable form.
    let plain = patdesk(&["list", "--config", missing]);
    assert!(
        stderr(&plain).starts_with("patdesk: "),
        "{}",
        stderr(&plain)
    );
}

/// `--json` is refused where it would be ignored.
#[test]
fn json_is_refused_where_nothing_is_json() {
    for args in [
        vec!["completions", "bash", "--json"],
        vec!["man", "--json"],
        vec!["run", "--json", "--config", "/nonexistent/patdesk.toml"],
    ] {
        let output = patdesk(&args);
        assert_eq!(output.status.code(), Some(2), "patdesk {args:?}");
        assert!(
            stderr(&output).contains("--json has no meaning"),
            "{}",
            stderr(&output)
        );
        assert_eq!(stdout(&output), "", "patdesk {args:?} printed nothing");
    }
}

/// What `run` refuses, `check-config` refuses too (both take the same step from the config to
/// what running needs): a GitHub App key that does not parse, and a people directory with a
/// broken line. Each is named, with exit 3, where check-config once said "ok".
#[test]
fn check_config_refuses_what_run_would_refuse() {
    for (name, key, people) in [
        (
            "a key that does not parse",
            "not a PEM key",
            "login,email\ncarol,carol@example.org\n",
        ),
        (
            "a broken people line",
            "",
            "login,email\ncarol carol@example.org\n",
        ),
    ] {
        let dir = TempDir::new().expect("temp dir");
        let key = if key.is_empty() {
            std::fs::read(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/github/app-test-key.pem"),
            )
            .expect("the test key")
        } else {
            key.as_bytes().to_vec()
        };
        std::fs::write(dir.path().join("app.pem"), key).expect("key");
        std::fs::set_permissions(
            dir.path().join("app.pem"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .expect("chmod");
        std::fs::write(dir.path().join("people.csv"), people).expect("people");
        let config = dir.path().join("patdesk.toml");
        std::fs::write(
            &config,
            "[store]\npath = \"patdesk.db\"\n[people]\ndirectory = \"people.csv\"\n\
             [github]\napp_id = 1\nprivate_key = { file = \"app.pem\" }\n\
             [[github.orgs]]\nlogin = \"acme-corp\"\ninstallation_id = 11\n",
        )
        .expect("config");
        let config = config.to_str().expect("path");
        let checked = patdesk(&["check-config", "--config", config]);
        assert_eq!(
            checked.status.code(),
            Some(3),
            "{name}: {}",
            stderr(&checked)
        );
        let said = stderr(&checked);
        // `run` refuses it before it starts anything (and is stopped if it did start).
        let mut run = Command::new(env!("CARGO_BIN_EXE_patdesk"))
            .args(["run", "--config", config])
            .env_remove("PATDESK_CONFIG")
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("patdesk runs");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let exited = loop {
            if let Some(status) = run.try_wait().expect("wait") {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = run.kill();
                break None;
            }
            // A poll for the exit, bounded by the deadline above, not a wait for anything.
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert!(
            exited.is_some_and(|status| !status.success()),
            "{name}: run did not refuse it ({exited:?})"
        );
        match name {
            "a key that does not parse" => assert!(said.contains("key"), "{name}: {said}"),
            _ => assert!(said.contains("people.csv line 2"), "{name}: {said}"),
        }
    }
}
