"""The reference server for bench/anoncred: what upstream's ooniprobe service does per request for
sign_credential and for the verification step of submit_measurement (ServerState.from_creds, then
the library call), over the standard library's HTTP server instead of FastAPI, storing nothing.
One process, one thread, one connection per request: the library holds the GIL, so this is one
core, like one upstream worker.

    python reference_server.py PUBLIC_PARAMETERS_FILE SECRET_KEY_FILE   (prints "port N")
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

import ooniauth_py as oa

oa.ServerState()  # loads the basepoints, which from_creds alone does not (see origin/src/anoncred/worker.py)
PP = open(sys.argv[1]).read().strip()
SK = open(sys.argv[2]).read().strip()
AGE = (2451545, 2826140)
ERRORS = (oa.ProtocolError, oa.CredentialError, oa.DeserializationFailed)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["content-length"])))
        state = oa.ServerState.from_creds(PP, SK)
        try:
            if self.path == "/api/v1/sign_credential":
                resp = state.handle_registration_request(req["credential_sign_request"])
                return self.answer(200, {"credential_sign_response": resp, "emission_day": state.today()})
            if self.path == "/api/v1/submit_measurement":
                content = json.loads(req["content"])
                resp = state.handle_submit_request_with_hash(
                    req["nym"], req["zkp_request"], content["probe_cc"], content["probe_asn"], req["content"], AGE, 0)
                return self.answer(200, {"verification_status": "verified", "submit_response": resp})
        except ERRORS as exc:
            return self.answer(403, {"error": type(exc).__name__})
        self.answer(404, {"error": "not found"})


HTTPServer.request_queue_size = 64
server = HTTPServer(("127.0.0.1", 0), Handler)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
