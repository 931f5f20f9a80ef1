"""Test driver: ooniauth-py's UserState (the reference client) behind a JSON-lines protocol.

The interop suite (test/origin/anoncred/) runs this with the venv's Python and sends one JSON
request per line: {"id", "op", ...}; each answer is {"id", "ok", "result"} or {"id", "ok": false,
"kind", "message"}. Several named users can live in one process ("user" field).
"""

import json
import sys

import ooniauth_py as oa

oa.ServerState()  # loads the basepoints that from_creds alone does not (origin/src/anoncred/worker.py)

users = {}
servers = {}


def handle(req):
    op = req["op"]
    if op == "new":
        users[req["user"]] = oa.UserState(req["pp"])
        return None
    if op == "hash":
        return oa.submit_measurement_hash(req["content"])
    if op == "protocol_version":
        return oa.get_protocol_version()
    # The reference server, for the other direction: what our origin issued, checked by it.
    if op == "server":
        servers[req["server"]] = oa.ServerState.from_creds(req["pp"], req["sk"])
        return None
    if op == "server_register":
        return servers[req["server"]].handle_registration_request(req["request"])
    if op == "server_submit":
        return servers[req["server"]].handle_submit_request_with_hash(
            req["nym"], req["request"], req["cc"], req["asn"], req["content"], tuple(req["age"]), req["min_count"])
    u = users[req["user"]]
    if op == "registration_request":
        return u.make_registration_request()
    if op == "registration_response":
        u.handle_registration_response(req["resp"])
        return None
    if op == "credential":
        return u.get_credential()
    if op == "submit_request":
        sr = u.make_submit_request_with_hash(req["cc"], req["asn"], req["content"], tuple(req["age"]), req["min_count"])
        return {"nym": sr.nym, "request": sr.request}
    if op == "submit_response":
        u.handle_submit_response(req["resp"])
        return None
    if op == "set_public_params":
        u.set_public_params(req["pp"])
        return None
    if op == "update_request":
        return u.make_credential_update_request()
    if op == "update_response":
        u.handle_credential_update_response(req["resp"])
        return None
    raise ValueError("unknown op " + op)


for line in sys.stdin:
    req = json.loads(line)
    try:
        ans = {"id": req["id"], "ok": True, "result": handle(req)}
    except BaseException as exc:
        ans = {"id": req["id"], "ok": False, "kind": type(exc).__name__, "message": str(exc)}
    sys.stdout.write(json.dumps(ans) + "\n")
    sys.stdout.flush()
