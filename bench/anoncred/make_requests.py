"""Requests for bench/anoncred: keys, registration requests and verifiable submissions.

Made with ooniauth-py's UserState (the reference client). Prints one JSON object on stdout:
{"public_parameters", "secret_key", "registrations": [...], "submit_sets": [[{content, nym,
request}, ...], ...]}. Each submission set is for one server under test: our origin refuses a
proof it has already accepted, so no two servers share a set.
"""

import json
import sys

import ooniauth_py as oa

n_reg, n_sub, n_sets = (int(x) for x in sys.argv[1:4])
AGE = (2451545, 2826140)
server = oa.ServerState()
pp, sk = server.get_public_parameters(), server.get_secret_key()

registrations = [oa.UserState(pp).make_registration_request() for _ in range(n_reg)]

sets = []
for s in range(n_sets):
    items = []
    for i in range(n_sub):
        user = oa.UserState(pp)
        user.handle_registration_response(server.handle_registration_request(user.make_registration_request()))
        content = json.dumps({
            "probe_asn": "AS30722", "probe_cc": "IT", "software_name": "bench", "software_version": "1.0",
            "test_name": "web_connectivity", "test_start_time": "2026-01-01 00:00:00",
            "measurement_start_time": "2026-01-01 00:00:00", "input": f"https://example.org/{s}/{i}",
            "test_keys": {"accessible": True, "body": "x" * 2000},
        })
        sr = user.make_submit_request_with_hash("IT", "AS30722", content, AGE, 0)
        items.append({"content": content, "nym": sr.nym, "request": sr.request})
    sets.append(items)

json.dump({"public_parameters": pp, "secret_key": sk, "registrations": registrations, "submit_sets": sets,
           "protocol_version": oa.get_protocol_version()}, sys.stdout)
