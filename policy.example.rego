# An example policy for patdesk: the easy cases decided without waiting for a person, the rest
# left to one. patdesk's floor lies beneath it whatever it says: anything its own review finds
# high or critical, and any admin-level or organisation-writing permission, goes to a person.
#
# The contract: `decision` is "approve", "deny" or "person"; `reasons` says why, in words the
# requester and the auditor read (a denial needs at least one). `input` is the request as
# `patdesk show --json` gives it under "request".
package patdesk

import rego.v1

default decision := "person"

# A token that never expires is refused outright: the team's guidance is a year at most.
deny_reasons contains "the token never expires: give it an expiry of a year or less" if {
	input.token_expires_at == null
}

# Read access only, anywhere it reaches.
read_only if {
	every _, access in input.permissions.repository {
		access == "read"
	}
	count(object.get(input.permissions, "organization", {})) == 0
	count(object.get(input.permissions, "other", {})) == 0
}

# A purpose the requester gave (or the team recorded), not only GitHub's free-text reason.
purpose_known if {
	input.purpose != null
	input.purpose_source != null
}

approvable if {
	read_only
	input.repository_selection == "subset"
	count(input.repositories) <= 3
	input.risk == "low"
	purpose_known
}

decision := "deny" if count(deny_reasons) > 0

decision := "approve" if {
	count(deny_reasons) == 0
	approvable
}

reasons contains reason if some reason in deny_reasons

reasons contains "read-only access to at most three named repositories, low risk, with a stated purpose and an expiry" if {
	count(deny_reasons) == 0
	approvable
}

reasons contains "not one of the cases this policy decides: a person does" if {
	count(deny_reasons) == 0
	not approvable
}
