"""The checks of scripts/openapi-conformance (which says what goes in and out)."""
import json
import sys

from openapi_schema_validator import OAS30Validator, OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

root = sys.argv[1] + "/node_modules/@octokit"
with open(root + "/openapi/generated/api.github.com.json") as f:
    rest = json.load(f)
with open(root + "/openapi-webhooks/generated/api.github.com.json") as f:
    webhooks = json.load(f)
registry = Registry().with_resources([
    ("urn:rest", Resource.from_contents(rest, default_specification=DRAFT4)),
    ("urn:webhooks", Resource.from_contents(webhooks, default_specification=DRAFT202012)),
])


def follow(document, ref):
    node = document
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def escape(part):
    return part.replace("~", "~0").replace("/", "~1")


def schema_pointer(document, pointer):
    """The JSON pointer to the JSON schema of the response or request body at `pointer`
    (following a `$ref` to a shared response), or None when it has no JSON body. Checked by
    pointer into the document, so the schema's own refs resolve there."""
    node = follow(document, pointer)
    if "$ref" in node:
        pointer = node["$ref"]
        node = follow(document, pointer)
    if "application/json" not in node.get("content", {}):
        return None
    return pointer + "/content/" + escape("application/json") + "/schema"


def where(error):
    path = ".".join(str(part) for part in error.absolute_path)
    return path or "(the whole body)"


def check(validator_class, base, pointer, instance, label, problems):
    validator = validator_class({"$ref": base + pointer}, registry=registry)
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        problems.append(f"{label}: at {where(error)}: {error.message[:300]}")


problems = []
checked = 0
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    item = json.loads(line)
    if "webhook" in item:
        name = item["webhook"]
        if name not in webhooks["webhooks"]:
            problems.append(f"webhook {name}: not in GitHub's description")
            continue
        pointer = "#/webhooks/" + escape(name) + "/post/requestBody"
        check(OAS31Validator, "urn:webhooks", schema_pointer(webhooks, pointer), item["payload"],
              f"webhook {name}", problems)
        checked += 1
        continue
    method, route, status = item["method"].lower(), item["route"], str(item["status"])
    label = f"{item['method']} {route} {status}"
    operation = rest["paths"].get(route, {}).get(method)
    if operation is None:
        problems.append(f"{label}: no such operation in GitHub's description")
        continue
    if status not in operation["responses"]:
        problems.append(f"{label}: GitHub does not document this status for it")
        continue
    at = "#/paths/" + escape(route) + "/" + method
    schema = schema_pointer(rest, at + "/responses/" + status)
    if schema is not None:
        if item.get("response") is None:
            problems.append(f"{label}: GitHub documents a JSON body; none came")
        else:
            check(OAS30Validator, "urn:rest", schema, item["response"], label, problems)
    elif item.get("response") not in (None, ""):
        problems.append(f"{label}: a body where GitHub documents none")
    if "requestBody" in operation and item.get("request") is not None:
        request_schema = schema_pointer(rest, at + "/requestBody")
        if request_schema is not None:
            check(OAS30Validator, "urn:rest", request_schema, item["request"],
                  f"{label} (request)", problems)
    checked += 1

for problem in problems:
    print(problem)
print(f"checked {checked}, {len(problems)} mismatch(es)", file=sys.stderr)
sys.exit(1 if problems else 0)
