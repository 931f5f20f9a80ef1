"""One anonymous-credentials worker: the ooniauth-py ServerState behind a line protocol.

The origin (origin/src/anoncred/pool.ts) starts a few of these and keeps them running. Each line
on stdin is one JSON request {"id": n, "op": ..., ...}; each answer is one JSON line on stdout
{"id": n, "ok": true, "result": ...} or {"id": n, "ok": false, "kind": ..., "message": ...}.
"kind" names the library's exception class, which the origin maps to an HTTP status or to a
verification status. Requests are handled one at a time: the pool runs one worker per core.
"""

import json
import sys

try:
    import ooniauth_py as oa
except Exception as exc:  # the origin reads this line and says what to install
    sys.stdout.write(json.dumps({"id": 0, "ok": False, "kind": "ImportError", "message": str(exc)}) + "\n")
    sys.stdout.flush()
    sys.exit(3)

# ooniauth-py 0.3.3 loads the curve basepoints only when a ServerState or UserState is constructed:
# a state made with from_creds alone panics ("basepoints uninitialized") on its first request. A
# worker whose keys come from the key ring would never construct one, so construct one now.
oa.ServerState()

# ServerState objects are rebuilt from base64 keys on each from_creds call; a key ring holds only a
# few versions, so keeping them by (public parameters, secret key) saves that work per request.
_states = {}


def _state(pp, sk):
    key = (pp, sk)
    st = _states.get(key)
    if st is None:
        if len(_states) > 16:
            _states.clear()
        st = oa.ServerState.from_creds(pp, sk)
        _states[key] = st
    return st


def _handle(req):
    op = req["op"]
    if op == "hello":
        return {"library_version": oa.__version__, "protocol_version": oa.get_protocol_version()}
    if op == "today":
        return oa.ServerState.today()
    if op == "keygen":
        st = oa.ServerState()
        return {"public_parameters": st.get_public_parameters(), "secret_key": st.get_secret_key()}
    if op == "register":
        st = _state(req["pp"], req["sk"])
        return {"response": st.handle_registration_request(req["request"]), "emission_day": oa.ServerState.today()}
    if op == "submit":
        st = _state(req["pp"], req["sk"])
        return st.handle_submit_request_with_hash(
            req["nym"],
            req["request"],
            req["probe_cc"],
            req["probe_asn"],
            req["content"],
            (int(req["age"][0]), int(req["age"][1])),
            int(req["min_count"]),
        )
    if op == "update":
        st = _state(req["pp"], req["sk"])
        return st.handle_update_request(req["request"], req["old_pp"], req["old_sk"])
    raise ValueError("unknown op")


def main():
    errors = (oa.ProtocolError, oa.CredentialError, oa.DeserializationFailed)
    out = sys.stdout
    for line in sys.stdin:
        rid = 0
        try:
            req = json.loads(line)
            rid = req.get("id", 0)
            answer = {"id": rid, "ok": True, "result": _handle(req)}
        except errors as exc:
            answer = {"id": rid, "ok": False, "kind": type(exc).__name__, "message": str(exc)}
        except BaseException as exc:  # a Rust panic arrives as BaseException: never let it end the worker
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            answer = {"id": rid, "ok": False, "kind": "InternalError", "message": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
