#!/bin/bash
# CGI: looks a note up by title with the mariadb command-line client, building the SQL by
# string interpolation — the mistake librasp must catch in the client process it runs.
raw=${QUERY_STRING#title=}
raw=${raw//+/ }
title=$(printf '%b' "${raw//%/\\x}")
sql="SELECT body FROM librasp_cgi_notes WHERE title = '$title'"
printf 'Content-Type: text/plain\r\n\r\n'
mariadb -h 127.0.0.1 -u root test -N -B -e "$sql" 2>&1
