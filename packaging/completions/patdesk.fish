# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_patdesk_global_optspecs
    string join \n config= json break-glass h/help V/version
end

function __fish_patdesk_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_patdesk_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_patdesk_using_subcommand
    set -l cmd (__fish_patdesk_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c patdesk -n "__fish_patdesk_needs_command" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_needs_command" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_needs_command" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_needs_command" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_needs_command" -s V -l version -d 'Print version'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "parse" -d 'Classify one mail (an .eml file, or - for standard input) and show what patdesk reads from it'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "check-config" -d 'Validate the config file and read every secret it names, without showing them'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "policy" -d 'Read a policy file (Rego) and run it on requests, the floor beneath it included'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "list" -d 'List requests, newest first'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "show" -d 'Show a request: its record, findings, conversation, GitHub actions and audit events'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "approve" -d 'Approve a request (a team member other than the token\'s owner)'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "deny" -d 'Deny a request; the reason is sent to the requester and to GitHub'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "revoke" -d 'Revoke an approved token'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "note" -d 'Add a note to a request\'s record'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "purpose" -d 'Record a purpose given another way (Slack, a call), and review the request again'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "contact" -d 'Give the address of a requester patdesk could not find, and ask them for the purpose'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "run" -d 'Run the service: mail intake, GitHub sync, the outbox and alerts, until SIGTERM or Ctrl-C (SIGHUP reloads)'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "sync" -d 'Read every configured organisation from GitHub now, and carry queued decisions back'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "export" -d 'Write the records sheet: every request, its decision, and the audit event behind it'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "triage" -d 'List mail that could not be tied to a request, for a person to look at; accept an unverified answer'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "status" -d 'How the service is doing: each part\'s health, queues, triage, breaker, audit head (exit 7 when unhealthy)'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, elvish, powershell) to standard output'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "man" -d 'Print the man page (roff) to standard output, which the package installs as patdesk(1)'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "backup" -d 'Copy the database while the service runs (as root or the service\'s user), and audit the copy'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "audit" -d 'Check or record the tamper-evident audit log'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "watch" -d 'Print audit events as they happen, like `journalctl -f` (Ctrl-C stops)'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "outbox" -d 'See mail not yet sent, and send again what did not arrive'
complete -c patdesk -n "__fish_patdesk_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c patdesk -n "__fish_patdesk_using_subcommand parse" -l trusted-authserv-id -d 'Trust Authentication-Results headers from this authserv-id (repeatable; added to the config\'s mail.trusted_authserv_ids)' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand parse" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand parse" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand parse" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand parse" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand check-config" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand check-config" -l connect -d 'Also sign in: get an OAuth 2 token, log in to the mailbox over IMAP, sign in to GitHub as the App and read each org\'s pending requests, log in to the SMTP server, and name the step that failed'
complete -c patdesk -n "__fish_patdesk_using_subcommand check-config" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand check-config" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand check-config" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and not __fish_seen_subcommand_from show test backtest accept help" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and not __fish_seen_subcommand_from show test backtest accept help" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and not __fish_seen_subcommand_from show test backtest accept help" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and not __fish_seen_subcommand_from show test backtest accept help" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and not __fish_seen_subcommand_from show test backtest accept help" -f -a "show" -d 'Read a policy: its SHA-256 (the actor of its decisions) and the floor beneath it'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and not __fish_seen_subcommand_from show test backtest accept help" -f -a "test" -d 'Run a policy on sample requests and on requests of your own, showing its answer and what stands once the floor is applied'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and not __fish_seen_subcommand_from show test backtest accept help" -f -a "backtest" -d 'Replay the requests people decided through a policy: agreement with their decisions, and every request where the policy would have approved what they denied'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and not __fish_seen_subcommand_from show test backtest accept help" -f -a "accept" -d 'Accept requests people denied that the policy would have approved (as `backtest` lists them), so they no longer hold the policy back from enforcing; recorded, with why'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and not __fish_seen_subcommand_from show test backtest accept help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from show" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from show" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from show" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from test" -l request -d 'A request as `patdesk show --json` prints it (or its "request" alone); repeatable' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from test" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from test" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from test" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from backtest" -l since -d 'Only requests decided on or after this date (YYYY-MM-DD, UTC) or time (RFC 3339)' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from backtest" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from backtest" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from backtest" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from backtest" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from accept" -l reason -d 'Why the policy may be that permissive, for the record' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from accept" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from accept" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from accept" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from accept" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "show" -d 'Read a policy: its SHA-256 (the actor of its decisions) and the floor beneath it'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "test" -d 'Run a policy on sample requests and on requests of your own, showing its answer and what stands once the floor is applied'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "backtest" -d 'Replay the requests people decided through a policy: agreement with their decisions, and every request where the policy would have approved what they denied'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "accept" -d 'Accept requests people denied that the policy would have approved (as `backtest` lists them), so they no longer hold the policy back from enforcing; recorded, with why'
complete -c patdesk -n "__fish_patdesk_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l state -d 'Only requests in this state' -r -f -a "new\t''
awaiting_purpose\t''
in_review\t''
approved\t''
denied\t''
revoked\t''
expired\t''
needs_contact\t''
withdrawn\t''"
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l org -d 'Only requests to this organisation (its login)' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l owner -d 'Only tokens owned by this GitHub login' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l risk -d 'Only requests of this risk' -r -f -a "low\t''
medium\t''
high\t''
critical\t''"
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l since -d 'Only requests made on or after this date (YYYY-MM-DD, UTC) or time (RFC 3339)' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l limit -d 'At most this many' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l offset -d 'Skip this many first (with --limit, a page further on)' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l sort -d 'Sort by this: id and requested newest first, risk critical first, the others A to Z' -r -f -a "id\t''
requested\t''
risk\t''
state\t''
owner\t''
org\t''"
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l reverse -d 'The other way round'
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l utc -d 'Exact times in UTC instead of "3 h ago"'
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l stale -d 'Only approved tokens unused for review.stale_after_days (or never used a week after approval): candidates for `revoke --category no-longer-required`'
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l no-expiry -d 'Only approved tokens that never expire'
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l outside -d 'The approved tokens no request accounts for instead (approved before patdesk, or on GitHub\'s pages between two syncs); with --stale and --no-expiry as above'
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand list" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand show" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand show" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand show" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand show" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand approve" -l reason -d 'Why, for the record and the requester' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand approve" -l until -d 'Grant it only until this date (YYYY-MM-DD, the start of that day in UTC) or time (RFC 3339), no later than the token\'s own expiry: patdesk revokes it then, and tells its owner a day ahead' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand approve" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand approve" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand approve" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand approve" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand deny" -l reason -d 'Why, sent to the requester and to GitHub with what would meet the policy' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand deny" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand deny" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand deny" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand deny" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand revoke" -l grant -d 'Revoke a token no request accounts for instead, by its org and grant as `patdesk list --outside` shows them (acme:4711)' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand revoke" -l category -d 'Which of the runbook\'s cases this is' -r -f -a "expired\t''
no-longer-required\t''
compromised\t''"
complete -c patdesk -n "__fish_patdesk_using_subcommand revoke" -l reason -d 'Why, in words, for the record and the requester (as approve\'s and deny\'s --reason)' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand revoke" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand revoke" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand revoke" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand revoke" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand note" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand note" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand note" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand note" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand purpose" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand purpose" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand purpose" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand purpose" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand contact" -l email -d 'The requester\'s address' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand contact" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand contact" -l replace -d 'Replace the address patdesk already has (recorded with both, and the team alerted)'
complete -c patdesk -n "__fish_patdesk_using_subcommand contact" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand contact" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand contact" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand run" -l log-format -d 'How to log: the journal when systemd runs patdesk (auto), readable lines, or JSON lines' -r -f -a "auto\t'The journal\'s own protocol when systemd runs patdesk, readable lines otherwise'
text\t'Readable lines on standard error'
json\t'One JSON object per line on standard error'
journald\t'Structured entries in systemd\'s journal (fields such as ORG, ERROR, COUNT)'"
complete -c patdesk -n "__fish_patdesk_using_subcommand run" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand run" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand run" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c patdesk -n "__fish_patdesk_using_subcommand sync" -l org -d 'Only this organisation (one of github.orgs)' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand sync" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand sync" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand sync" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand sync" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand export" -l format -r -f -a "csv\t''
json\t''"
complete -c patdesk -n "__fish_patdesk_using_subcommand export" -l out -d 'Write here instead of standard output: a new file, readable by its owner only' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand export" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand export" -l force -d 'Replace FILE if it exists (without it, an existing file is never overwritten)'
complete -c patdesk -n "__fish_patdesk_using_subcommand export" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand export" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand export" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and not __fish_seen_subcommand_from accept dismiss help" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and not __fish_seen_subcommand_from accept dismiss help" -l all -d 'Also list the mail taken out of triage, with who took it out and why'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and not __fish_seen_subcommand_from accept dismiss help" -l utc -d 'Show when each mail came as an exact UTC time, not "3 h ago"'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and not __fish_seen_subcommand_from accept dismiss help" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and not __fish_seen_subcommand_from accept dismiss help" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and not __fish_seen_subcommand_from accept dismiss help" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and not __fish_seen_subcommand_from accept dismiss help" -f -a "accept" -d 'Take an unverified answer (from the requester\'s address, not authenticated) as the request\'s purpose, once you have checked with the requester that they wrote it'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and not __fish_seen_subcommand_from accept dismiss help" -f -a "dismiss" -d 'Take a mail out of triage without acting on it (a stranger\'s mail, a late answer about a request decided since); it stays in the records with your reason'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and not __fish_seen_subcommand_from accept dismiss help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and __fish_seen_subcommand_from accept" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and __fish_seen_subcommand_from accept" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and __fish_seen_subcommand_from accept" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and __fish_seen_subcommand_from accept" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and __fish_seen_subcommand_from dismiss" -l reason -d 'Why it needs nothing, for the record' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and __fish_seen_subcommand_from dismiss" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and __fish_seen_subcommand_from dismiss" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and __fish_seen_subcommand_from dismiss" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and __fish_seen_subcommand_from dismiss" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and __fish_seen_subcommand_from help" -f -a "accept" -d 'Take an unverified answer (from the requester\'s address, not authenticated) as the request\'s purpose, once you have checked with the requester that they wrote it'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and __fish_seen_subcommand_from help" -f -a "dismiss" -d 'Take a mail out of triage without acting on it (a stranger\'s mail, a late answer about a request decided since); it stays in the records with your reason'
complete -c patdesk -n "__fish_patdesk_using_subcommand triage; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c patdesk -n "__fish_patdesk_using_subcommand status" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand status" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand status" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand status" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand completions" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand completions" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand completions" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand completions" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand man" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand man" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand man" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand man" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand backup" -l out -d 'The copy to write: a new file (an existing one is never overwritten)' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand backup" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand backup" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand backup" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand backup" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and not __fish_seen_subcommand_from verify head help" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and not __fish_seen_subcommand_from verify head help" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and not __fish_seen_subcommand_from verify head help" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and not __fish_seen_subcommand_from verify head help" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and not __fish_seen_subcommand_from verify head help" -f -a "verify" -d 'Walk the whole audit log, recomputing every hash, and check every request\'s state and every GitHub push against it; name what is broken'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and not __fish_seen_subcommand_from verify head help" -f -a "head" -d 'Print the newest event\'s number and hash (SEQ:HASH), to record somewhere else'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and not __fish_seen_subcommand_from verify head help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and __fish_seen_subcommand_from verify" -l head -d 'A head recorded earlier (SEQ:HASH from `audit head`): it must still be in the log' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and __fish_seen_subcommand_from verify" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and __fish_seen_subcommand_from verify" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and __fish_seen_subcommand_from verify" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and __fish_seen_subcommand_from head" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and __fish_seen_subcommand_from head" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and __fish_seen_subcommand_from head" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and __fish_seen_subcommand_from head" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Walk the whole audit log, recomputing every hash, and check every request\'s state and every GitHub push against it; name what is broken'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "head" -d 'Print the newest event\'s number and hash (SEQ:HASH), to record somewhere else'
complete -c patdesk -n "__fish_patdesk_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c patdesk -n "__fish_patdesk_using_subcommand watch" -l from -d 'Start after this event (its SEQ) instead of now: what happened since, then what happens' -r
complete -c patdesk -n "__fish_patdesk_using_subcommand watch" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand watch" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand watch" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand watch" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and not __fish_seen_subcommand_from list resend help" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and not __fish_seen_subcommand_from list resend help" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and not __fish_seen_subcommand_from list resend help" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and not __fish_seen_subcommand_from list resend help" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and not __fish_seen_subcommand_from list resend help" -f -a "list" -d 'Mail not yet sent: queued, being sent, uncertain (may have gone) or failed'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and not __fish_seen_subcommand_from list resend help" -f -a "resend" -d 'Send an uncertain or failed mail again, with the same bytes and Message-ID'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and not __fish_seen_subcommand_from list resend help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and __fish_seen_subcommand_from list" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and __fish_seen_subcommand_from list" -l utc -d 'Exact times in UTC instead of "3 h ago"'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and __fish_seen_subcommand_from list" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and __fish_seen_subcommand_from resend" -l config -d 'Config file [default: /etc/patdesk/patdesk.toml]' -r -F
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and __fish_seen_subcommand_from resend" -l json -d 'Print JSON instead of the readable form'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and __fish_seen_subcommand_from resend" -l break-glass -d 'root only, with the daemon stopped: open the database directly instead of asking the daemon; changes are recorded as break-glass:root'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and __fish_seen_subcommand_from resend" -s h -l help -d 'Print help'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "list" -d 'Mail not yet sent: queued, being sent, uncertain (may have gone) or failed'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "resend" -d 'Send an uncertain or failed mail again, with the same bytes and Message-ID'
complete -c patdesk -n "__fish_patdesk_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "parse" -d 'Classify one mail (an .eml file, or - for standard input) and show what patdesk reads from it'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "check-config" -d 'Validate the config file and read every secret it names, without showing them'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "policy" -d 'Read a policy file (Rego) and run it on requests, the floor beneath it included'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "list" -d 'List requests, newest first'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "show" -d 'Show a request: its record, findings, conversation, GitHub actions and audit events'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "approve" -d 'Approve a request (a team member other than the token\'s owner)'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "deny" -d 'Deny a request; the reason is sent to the requester and to GitHub'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "revoke" -d 'Revoke an approved token'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "note" -d 'Add a note to a request\'s record'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "purpose" -d 'Record a purpose given another way (Slack, a call), and review the request again'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "contact" -d 'Give the address of a requester patdesk could not find, and ask them for the purpose'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "run" -d 'Run the service: mail intake, GitHub sync, the outbox and alerts, until SIGTERM or Ctrl-C (SIGHUP reloads)'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "sync" -d 'Read every configured organisation from GitHub now, and carry queued decisions back'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "export" -d 'Write the records sheet: every request, its decision, and the audit event behind it'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "triage" -d 'List mail that could not be tied to a request, for a person to look at; accept an unverified answer'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "status" -d 'How the service is doing: each part\'s health, queues, triage, breaker, audit head (exit 7 when unhealthy)'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, elvish, powershell) to standard output'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "man" -d 'Print the man page (roff) to standard output, which the package installs as patdesk(1)'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "backup" -d 'Copy the database while the service runs (as root or the service\'s user), and audit the copy'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "audit" -d 'Check or record the tamper-evident audit log'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "watch" -d 'Print audit events as they happen, like `journalctl -f` (Ctrl-C stops)'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "outbox" -d 'See mail not yet sent, and send again what did not arrive'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and not __fish_seen_subcommand_from parse check-config policy list show approve deny revoke note purpose contact run sync export triage status completions man backup audit watch outbox help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "show" -d 'Read a policy: its SHA-256 (the actor of its decisions) and the floor beneath it'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "test" -d 'Run a policy on sample requests and on requests of your own, showing its answer and what stands once the floor is applied'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "backtest" -d 'Replay the requests people decided through a policy: agreement with their decisions, and every request where the policy would have approved what they denied'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "accept" -d 'Accept requests people denied that the policy would have approved (as `backtest` lists them), so they no longer hold the policy back from enforcing; recorded, with why'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and __fish_seen_subcommand_from triage" -f -a "accept" -d 'Take an unverified answer (from the requester\'s address, not authenticated) as the request\'s purpose, once you have checked with the requester that they wrote it'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and __fish_seen_subcommand_from triage" -f -a "dismiss" -d 'Take a mail out of triage without acting on it (a stranger\'s mail, a late answer about a request decided since); it stays in the records with your reason'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "verify" -d 'Walk the whole audit log, recomputing every hash, and check every request\'s state and every GitHub push against it; name what is broken'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "head" -d 'Print the newest event\'s number and hash (SEQ:HASH), to record somewhere else'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "list" -d 'Mail not yet sent: queued, being sent, uncertain (may have gone) or failed'
complete -c patdesk -n "__fish_patdesk_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "resend" -d 'Send an uncertain or failed mail again, with the same bytes and Message-ID'
