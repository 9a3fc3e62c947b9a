"""A deliberately vulnerable Python web app for librasp's shim tests.

The value `arg` may arrive through any carrier a web framework offers: the query string, a
urlencoded or multipart form (a field, or an uploaded file's name), a JSON body (at any depth
under "arg"), an X-Arg header, an `arg` cookie, or a path segment (/p/<arg>/<endpoint>).

Same endpoints as http_server.c, built on the standard library's ThreadingHTTPServer, so the
agent is exercised through CPython's own paths: os.system, os.popen, subprocess (vfork + exec),
open(), socket.create_connection (getaddrinfo + connect), and the sqlite3 module (whose
libsqlite3 is loaded RTLD_LOCAL). /sqlite builds its query by string formatting;
/sqlite_param binds the same value as a parameter. Prints "PORT <n>" once listening.
Usage: app.py DOCROOT
"""

import json
import os
import socket
import sqlite3
import subprocess
import sys
from email.parser import BytesParser
from email.policy import HTTP
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

DOCROOT = sys.argv[1]
NOTES_DB = os.path.join(os.path.dirname(DOCROOT), "notes.db")


def setup_db():
    with sqlite3.connect(NOTES_DB) as con:
        con.execute("CREATE TABLE IF NOT EXISTS notes (title TEXT, body TEXT)")
        con.execute("DELETE FROM notes")
        con.executemany(
            "INSERT INTO notes VALUES (?, ?)",
            [("welcome", "hello notes"), ("secret", "top secret")],
        )


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

    def find_arg(self, url, query):
        """The request's `arg`, from whichever carrier holds it."""
        if "arg" in query:
            return query["arg"][0]
        if "X-Arg" in self.headers:
            return self.headers["X-Arg"]
        cookies = SimpleCookie(self.headers.get("Cookie", ""))
        if "arg" in cookies:
            return cookies["arg"].value
        parts = url.path.split("/")
        if len(parts) > 3 and parts[1] == "p":
            return unquote(parts[2])
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            return parse_qs(body.decode()).get("arg", [""])[0]
        if ctype.startswith("application/json"):
            return find_in_json(json.loads(body))
        if ctype.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
            )
            for part in message.iter_parts():
                if part.get_param("name", header="content-disposition") == "arg":
                    return part.get_filename() or part.get_content()
        return ""

    def do_POST(self):
        self.do_GET()

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        arg = self.find_arg(url, query)
        endpoint = "/" + url.path.rsplit("/", 1)[-1]
        url = url._replace(path=endpoint)
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
            elif url.path in ("/sqlite", "/sqlite_param"):
                with sqlite3.connect(NOTES_DB) as con:
                    if url.path == "/sqlite":
                        rows = con.execute(f"SELECT body FROM notes WHERE title = '{arg}'")
                    else:
                        rows = con.execute("SELECT body FROM notes WHERE title = ?", (arg,))
                    self.reply(200, "".join(r[0] + "\n" for r in rows))
            elif url.path == "/connect":
                port = int(query.get("port", ["80"])[0])
                with socket.create_connection((arg, port), timeout=2):
                    self.reply(200, "connected\n")
            else:
                self.reply(404, "not found\n")
        except OSError as e:
            self.reply(500, f"{url.path} failed: {e.strerror} errno={e.errno}\n")
        except sqlite3.Error as e:
            self.reply(500, f"{url.path} failed: {type(e).__name__}: {e}\n")


def find_in_json(value):
    """The first value under an "arg" key, at any depth."""
    if isinstance(value, dict):
        if "arg" in value:
            return str(value["arg"])
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = find_in_json(item)
            if found:
                return found
    return ""


def main():
    setup_db()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
