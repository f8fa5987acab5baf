//! GitHub's objects whole, with every field its published description requires, from the few
//! facts a scenario gives (a login, a repository's name): patdesk reads a handful of fields,
//! and a stand-in that served only those would hide a client that leans on one GitHub may
//! leave out. The conformance test (`tests/github_conformance.rs`) holds these to the
//! description.

use serde_json::{Map, Value, json};

const API: &str = "https://api.github.com";

/// A user's id as GitHub would give one, stable for a login.
fn id_of(login: &str) -> i64 {
    let sum = login
        .bytes()
        .fold(7_i64, |sum, byte| (sum * 31 + i64::from(byte)) % 90_000_000);
    1_000 + sum
}

/// `simple-user`, for `login` (its `id` as given, or one made from the login).
pub fn simple_user(login: &str, id: Option<i64>) -> Value {
    let id = id.unwrap_or_else(|| id_of(login));
    json!({
        "login": login,
        "id": id,
        "node_id": format!("U_standin{id}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": format!("{API}/users/{login}"),
        "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{API}/users/{login}/followers"),
        "following_url": format!("{API}/users/{login}/following{{/other_user}}"),
        "gists_url": format!("{API}/users/{login}/gists{{/gist_id}}"),
        "starred_url": format!("{API}/users/{login}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{API}/users/{login}/subscriptions"),
        "organizations_url": format!("{API}/users/{login}/orgs"),
        "repos_url": format!("{API}/users/{login}/repos"),
        "events_url": format!("{API}/users/{login}/events{{/privacy}}"),
        "received_events_url": format!("{API}/users/{login}/received_events"),
        "type": "User",
        "site_admin": false,
        "user_view_type": "public",
    })
}

/// `object` with every field of `whole` it lacks (what it has, it keeps).
fn filled(object: &Value, whole: Value) -> Value {
    let mut result: Map<String, Value> = whole.as_object().cloned().unwrap_or_default();
    if let Some(given) = object.as_object() {
        for (key, value) in given {
            result.insert(key.clone(), value.clone());
        }
    }
    Value::Object(result)
}

/// A pending request or a grant as a scenario gives it, its owner made a whole `simple-user`.
pub fn token_listing(item: &Value) -> Value {
    let mut item = item.clone();
    let owner = &item["owner"];
    let login = owner["login"].as_str().unwrap_or("ghost").to_string();
    let whole = simple_user(&login, owner["id"].as_i64());
    item["owner"] = filled(owner, whole);
    item
}

/// `organization-simple`.
fn organization(org: &str) -> Value {
    let id = id_of(org);
    json!({
        "login": org,
        "id": id,
        "node_id": format!("O_standin{id}"),
        "url": format!("{API}/orgs/{org}"),
        "repos_url": format!("{API}/orgs/{org}/repos"),
        "events_url": format!("{API}/orgs/{org}/events"),
        "hooks_url": format!("{API}/orgs/{org}/hooks"),
        "issues_url": format!("{API}/orgs/{org}/issues"),
        "members_url": format!("{API}/orgs/{org}/members{{/member}}"),
        "public_members_url": format!("{API}/orgs/{org}/public_members{{/member}}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "description": null,
    })
}

/// `org-membership`: `login`'s `role` in `org`, active.
pub fn org_membership(org: &str, login: &str, role: &str) -> Value {
    json!({
        "url": format!("{API}/orgs/{org}/memberships/{login}"),
        "state": "active",
        "role": role,
        "organization_url": format!("{API}/orgs/{org}"),
        "organization": organization(org),
        "user": simple_user(login, None),
    })
}

/// `team-membership`: an active member of a team.
pub fn team_membership(org: &str, team: &str, login: &str) -> Value {
    json!({
        "url": format!("{API}/orgs/{org}/teams/{team}/memberships/{login}"),
        "role": "member",
        "state": "active",
    })
}

/// `repository-collaborator-permission`: `login`'s `permission` on a repository.
pub fn collaborator_permission(login: &str, permission: &str) -> Value {
    let role_name = match permission {
        "admin" => "admin",
        "write" => "write",
        "read" => "read",
        _ => "none",
    };
    let mut user = simple_user(login, None);
    user["role_name"] = json!(role_name);
    user["permissions"] = json!({
        "admin": permission == "admin",
        "maintain": permission == "admin",
        "push": matches!(permission, "admin" | "write"),
        "triage": matches!(permission, "admin" | "write"),
        "pull": permission != "none",
    });
    json!({ "permission": permission, "role_name": role_name, "user": user })
}

/// `public-user`: a profile, with the address it shows (or none).
pub fn public_user(login: &str, email: Option<&str>) -> Value {
    let mut user = simple_user(login, None);
    let extra = json!({
        "name": null,
        "company": null,
        "blog": "",
        "location": null,
        "email": email,
        "hireable": null,
        "bio": null,
        "public_repos": 2,
        "public_gists": 0,
        "followers": 1,
        "following": 0,
        "created_at": "2020-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    });
    if let (Some(user), Some(extra)) = (user.as_object_mut(), extra.as_object()) {
        user.extend(extra.clone());
    }
    user
}

/// `minimal-repository`, for `owner/name`.
pub fn minimal_repository(full_name: &str) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap_or(("ghost", full_name));
    let id = id_of(full_name);
    let api = format!("{API}/repos/{full_name}");
    let mut repository = json!({
        "id": id,
        "node_id": format!("R_standin{id}"),
        "name": name,
        "full_name": full_name,
        "owner": simple_user(owner, None),
        "private": true,
        "html_url": format!("https://github.com/{full_name}"),
        "description": null,
        "fork": false,
        "url": api,
    });
    let templated = [
        ("archive_url", "/{archive_format}{/ref}"),
        ("assignees_url", "/assignees{/user}"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("branches_url", "/branches{/branch}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("comments_url", "/comments{/number}"),
        ("commits_url", "/commits{/sha}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("contents_url", "/contents/{+path}"),
        ("contributors_url", "/contributors"),
        ("deployments_url", "/deployments"),
        ("downloads_url", "/downloads"),
        ("events_url", "/events"),
        ("forks_url", "/forks"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("hooks_url", "/hooks"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("issue_events_url", "/issues/events{/number}"),
        ("issues_url", "/issues{/number}"),
        ("keys_url", "/keys{/key_id}"),
        ("labels_url", "/labels{/name}"),
        ("languages_url", "/languages"),
        ("merges_url", "/merges"),
        ("milestones_url", "/milestones{/number}"),
        (
            "notifications_url",
            "/notifications{?since,all,participating}",
        ),
        ("pulls_url", "/pulls{/number}"),
        ("releases_url", "/releases{/id}"),
        ("stargazers_url", "/stargazers"),
        ("statuses_url", "/statuses/{sha}"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("tags_url", "/tags"),
        ("teams_url", "/teams"),
        ("trees_url", "/git/trees{/sha}"),
    ];
    for (field, suffix) in templated {
        repository[field] = json!(format!("{api}{suffix}"));
    }
    repository
}
