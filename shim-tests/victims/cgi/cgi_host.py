"""A CGI host for librasp's shim tests: the standard library's CGI handler serving the scripts
in ./cgi-bin, each run as a separate program with the request in its environment (RFC 3875).
Prints "PORT <n>" once listening on 127.0.0.1. Usage: cgi_host.py
"""

import http.server
import os
import warnings
from http.server import CGIHTTPRequestHandler, ThreadingHTTPServer

warnings.simplefilter("ignore", DeprecationWarning)

# The standard handler drops CGI children to "nobody" when started as root; keep the host's
# user so the scripts can reach the test's own files (sandbox database, event log).
http.server.nobody_uid = os.getuid


class Handler(CGIHTTPRequestHandler):
    cgi_directories = ["/cgi-bin"]

    def log_message(self, *args):
        pass


def main():
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
