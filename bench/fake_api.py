"""A fake Baseten API for the benchmark, on 127.0.0.1 only: plain HTTP and HTTPS (a self-signed
certificate made with the openssl CLI). Answers `GET /v1/users/me` (what truss-ci and curl call),
`GET /v1/api_keys` (truss-ci's lookup of the key by its prefix: the benchmark's key is listed as a
workspace key) and `POST /graphql/` (what `truss whoami` calls). To the large workspace's key
(`bigKEY0001.…`) the list holds 10,000 keys, 100 of them expired job keys, its own last: what
`keys prune` and the lookup read in a large workspace. Prints "HTTP_PORT HTTPS_PORT CA_FILE" when ready.
"""
import http.server
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading

USER = json.dumps({"user_id": "u_bench", "email": "bench@example.com", "name": "Bench", "workspace_name": "bench-ws"}).encode()
KEYS = json.dumps({"keys": [{"prefix": "benchKEY01", "name": "bench", "type": "WORKSPACE_MANAGE_ALL", "model_ids": None,
                             "team_name": None, "created_at": "2026-11-01T00:00:00Z", "last_used_at": None}]}).encode()
BIG_PREFIX = "bigKEY0001"


def key_info(prefix, name, created="2026-11-01T00:00:00Z"):
    return {"prefix": prefix, "name": name, "type": "WORKSPACE_MANAGE_ALL", "model_ids": None,
            "team_name": "ml-platform", "created_at": created, "last_used_at": "2026-11-29T10:00:00Z"}


BIG_KEYS = json.dumps({"keys": [key_info(f"job{i:07d}", f"truss-ci-github-{1000 + i}-1-deploy-202601010000-{i:08x}")
                                for i in range(100)]
                      + [key_info(f"svc{i:07d}", f"deploy-bot-{i}") for i in range(9899)]
                      + [key_info(BIG_PREFIX, "ci-admin")]}).encode()
GRAPHQL = json.dumps({"data": {"organization": {"workspace_name": "bench-ws"}, "user": {"email": "bench@example.com"}}}).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle on, the second waits ~40 ms for the client's
    # delayed ACK over TLS, a server artefact that would swamp the clients being measured.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        big = BIG_PREFIX in self.headers.get("Authorization", "")
        keys = BIG_KEYS if big else KEYS
        self.reply({"/v1/users/me": USER, "/v1/api_keys": keys}.get(self.path, b"{}"))

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.reply(GRAPHQL)


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main():
    workdir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
    # A private CA and a leaf it signs for 127.0.0.1, as a company's internal CA would issue.
    path = lambda name: os.path.join(workdir, name)
    ext = path("leaf.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
    for cmd in (
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=bench-ca",
         "-keyout", path("ca.key"), "-out", path("ca.pem")],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", path("key.pem"), "-out", path("leaf.csr")],
        ["openssl", "x509", "-req", "-in", path("leaf.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
         "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", path("leaf.pem")],
    ):
        subprocess.run(cmd, check=True, capture_output=True)
    cert, key = path("leaf.pem"), path("key.pem")
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    serve(plain)
    serve(tls)
    print(plain.server_address[1], tls.server_address[1], path("ca.pem"), flush=True)
    sys.stdin.read()  # runs until the benchmark closes stdin


if __name__ == "__main__":
    main()
