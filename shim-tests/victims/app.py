"""A deliberately vulnerable Python web app for librasp's shim tests.

Same endpoints as http_server.c, built on the standard library's ThreadingHTTPServer, so the
agent is exercised through CPython's own paths: os.system, os.popen, subprocess (vfork + exec),
open(), socket.create_connection (getaddrinfo + connect). Prints "PORT <n>" once listening.
Usage: app.py DOCROOT
"""

import os
import socket
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DOCROOT = sys.argv[1]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        arg = query.get("arg", [""])[0]
        cmd = "echo hello " + arg
        try:
            if url.path == "/health":
                self.reply(200, "ok\n")
            elif url.path == "/system":
                rc = os.system(cmd)
                self.reply(200 if rc != -1 else 500, f"system rc={rc}\n")
            elif url.path == "/popen":
                with os.popen(cmd) as p:
                    self.reply(200, p.read())
            elif url.path == "/exec":
                out = subprocess.run(["sh", "-c", cmd], capture_output=True, check=False)
                self.reply(200, out.stdout.decode())
            elif url.path in ("/fopen", "/open"):
                with open(os.path.join(DOCROOT, arg)) as f:
                    self.reply(200, f.read())
            elif url.path == "/connect":
                port = int(query.get("port", ["80"])[0])
                with socket.create_connection((arg, port), timeout=2):
                    self.reply(200, "connected\n")
            else:
                self.reply(404, "not found\n")
        except OSError as e:
            self.reply(500, f"{url.path} failed: {e.strerror} errno={e.errno}\n")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
