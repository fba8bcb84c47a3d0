#!/usr/bin/python3
"""The demo's retraining receiver: an HTTP endpoint on 127.0.0.1 standing in
for an orchestrator. It checks each request's Standard Webhooks signature
(HMAC-SHA256 of id.timestamp.body with the secret in $DRIFTD_DEMO_SECRET)
and writes one line per retraining trigger to OUT: what it would retrain
and why. Alerts sent to it are acknowledged and not printed.

    DRIFTD_DEMO_SECRET=whsec_... scripts/demo_receiver.py PORT OUT
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import sys
import time


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    secret = os.environ["DRIFTD_DEMO_SECRET"]
    key = base64.b64decode(secret[len("whsec_"):]) if secret.startswith("whsec_") else secret.encode()
    seen = set()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            msg_id = self.headers.get("webhook-id", "")
            ts = self.headers.get("webhook-timestamp", "0")
            want = "v1," + base64.b64encode(
                hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
            ok = want in self.headers.get("webhook-signature", "").split(" ") and \
                abs(time.time() - int(ts)) < 300
            self.send_response(204 if ok else 401)
            self.end_headers()
            if not ok:
                return
            t = json.loads(body)
            if t.get("kind") != "trigger" or t["idempotency_key"] in seen:
                return  # an alert, or a repeat: acted on once
            seen.add(t["idempotency_key"])
            drifting = ", ".join(f"{f['name']} {f['method']} {f['value']:.3f}"
                                 for f in t["evidence"]["drifting_features"][:3])
            end = time.strftime("%H:%M:%S", time.gmtime(t["window"]["end"] / 1000))
            with open(out, "a") as f:
                f.write(f"{end} UTC  retrain {t['model']['name']} v{t['model']['version']} "
                        f"because {t['because'][0].get('rule') or t['because'][0]['condition']} (signature verified); drifting: "
                        f"{drifting}; key {t['idempotency_key']}\n")

    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
