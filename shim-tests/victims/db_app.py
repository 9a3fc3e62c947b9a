"""A deliberately vulnerable web app over real database drivers, for librasp's shim tests.

GET /<driver>?arg=X runs  SELECT body FROM librasp_notes_v2 WHERE title = 'X'  built by string
formatting; GET /<driver>_param?arg=X runs the same query with X bound as a parameter.
Drivers: psycopg2 (bundled private libpq), pg8000 (PostgreSQL wire protocol in Python),
mysqlclient (system libmariadb), pymysql (MySQL wire protocol in Python).
Responses: 200 with one body per line, or 500 "<driver> failed: <error>".
Prints "PORT <n>" once listening. Servers: PostgreSQL and MariaDB on 127.0.0.1, database test.
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import MySQLdb
import pg8000.dbapi
import psycopg2
import pymysql

ROWS = [("welcome", "hello notes"), ("secret", "top secret")]


def connect(driver):
    if driver == "psycopg2":
        return psycopg2.connect(host="127.0.0.1", dbname="test", user="postgres")
    if driver == "pg8000":
        # Plain TCP: the wire protocol is only readable unencrypted (TLS is out of scope).
        return pg8000.dbapi.connect(
            host="127.0.0.1", database="test", user="postgres", ssl_context=False
        )
    if driver == "mysqlclient":
        return MySQLdb.connect(host="127.0.0.1", user="root", password="", database="test")
    if driver == "pymysql":
        return pymysql.connect(host="127.0.0.1", user="root", password="", database="test")
    raise KeyError(driver)


def placeholder(driver):
    return "%s"


def setup():
    """Creates the notes table once; safe when several test apps start at the same time
    (rows are keyed by title and inserted only when missing, never deleted)."""
    statements = {
        "psycopg2": (
            "CREATE TABLE IF NOT EXISTS librasp_notes_v2 (title VARCHAR(64) PRIMARY KEY, body VARCHAR(64))",
            "INSERT INTO librasp_notes_v2 VALUES (%s, %s) ON CONFLICT DO NOTHING",
        ),
        "mysqlclient": (
            "CREATE TABLE IF NOT EXISTS librasp_notes_v2 (title VARCHAR(64) PRIMARY KEY, body VARCHAR(64))",
            "INSERT IGNORE INTO librasp_notes_v2 VALUES (%s, %s)",
        ),
    }
    for driver, (create, insert) in statements.items():
        for attempt in range(5):
            try:
                con = connect(driver)
                cur = con.cursor()
                cur.execute(create)
                for row in ROWS:
                    cur.execute(insert, row)
                con.commit()
                con.close()
                break
            except Exception:  # a concurrent CREATE can race in PostgreSQL's catalog: retry
                if attempt == 4:
                    raise


def still_usable(con):
    """Whether the connection runs a query after the failure (rolled back first, as apps do)."""
    try:
        con.rollback()
        cur = con.cursor()
        cur.execute("SELECT 1")
        return cur.fetchall()[0][0] == 1
    except Exception:
        return False


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
        arg = parse_qs(url.query).get("arg", [""])[0]
        name = url.path.strip("/")
        driver = name.removesuffix("_param")
        try:
            con = connect(driver)
        except KeyError:
            self.reply(404, "no such driver\n")
            return
        try:
            cur = con.cursor()
            if name.endswith("_param"):
                sql = "SELECT body FROM librasp_notes_v2 WHERE title = " + placeholder(driver)
                cur.execute(sql, (arg,))
            else:
                cur.execute(f"SELECT body FROM librasp_notes_v2 WHERE title = '{arg}'")
            rows = cur.fetchall()
            self.reply(200, "".join(f"{r[0]}\n" for r in rows))
        except Exception as e:  # the drivers' own error types, reported as the app sees them
            state = "usable" if still_usable(con) else "closed"
            self.reply(500, f"{driver} failed: {type(e).__name__}: {e} [connection {state}]\n")
        finally:
            try:
                con.close()
            except Exception:
                pass


def main():
    setup()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
