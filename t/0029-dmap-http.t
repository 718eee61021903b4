#!/bin/sh
# The DMAP client's HTTP against a small device of this test's own (not
# t/fake-atv): one that answers 500 unless a request carries the header set
# of the iOS Remote app and pyatv (Accept, Accept-Encoding: gzip, the
# Client-*-Version lines, User-Agent, Viewer-Only-Client) and then sends
# every body gzipped; and hostile ones: headers that never end (a 10 MB
# header line, thousands of short lines), an answer that is not HTTP.  All
# on 127.0.0.1.
. "$top_srcdir/t/lib.sh"

command -v jq > /dev/null 2>&1 || test_skip_all "jq not found"
command -v python3 > /dev/null 2>&1 || test_skip_all "python3 not found (test device)"
command -v timeout > /dev/null 2>&1 || test_skip_all "timeout not found"

T=30
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

# device.py MODE PORTFILE: serve DMAP on 127.0.0.1 until killed; the port
# goes to PORTFILE, one line per request to stdout ("path ok" or "path
# missing: header...").
cat > "$TRASH/device.py" << 'EOF'
import gzip, http.server, sys

mode, portfile = sys.argv[1], sys.argv[2]
WANT = {"Accept": "*/*", "Accept-Encoding": "gzip", "Client-DAAP-Version": "3.13",
        "Client-ATV-Sharing-Version": "1.2", "Client-iTunes-Sharing-Version": "3.15",
        "User-Agent": "Remote/1021", "Viewer-Only-Client": "1"}

def tag(t, v):
    if isinstance(v, int):
        v = v.to_bytes(4, "big")
    elif isinstance(v, str):
        v = v.encode()
    return t.encode() + len(v).to_bytes(4, "big") + v

class Device(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def handle_one_request(self):
        try:
            super().handle_one_request()
        except ConnectionError:
            self.close_connection = True  # the client gave up on a hostile answer
    def answer(self, status, body=b"", extra=()):
        self.send_response_only(status)
        for k, v in extra:
            self.send_header(k, v)
        if body and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Type", "application/x-dmap-tagged")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        path = self.path.split("?")[0]
        if mode == "bigline":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Junk: " + b"a" * (10 * 1024 * 1024) +
                             b"\r\n\r\n")
            return
        if mode == "nothttp":
            self.wfile.write(b"mlog\0\0\0\0")
            return
        if mode == "manylines":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for i in range(20000):
                self.wfile.write(b"X-Junk-%d: aaaaaaaaaaaaaaaaaaaa\r\n" % i)
            self.wfile.write(b"\r\n")
            return
        missing = [k for k, v in WANT.items()
                   if v not in [s.strip() for s in self.headers.get(k, "").split(",")]]
        print(path, "missing: " + " ".join(missing) if missing else "ok", flush=True)
        if missing:
            return self.answer(500)
        if path == "/login":
            return self.answer(200, tag("mlog", tag("mstt", 200) + tag("mlid", 7)))
        if path == "/ctrl-int/1/playstatusupdate":
            return self.answer(200, tag("cmst", tag("mstt", 200) + tag("cmsr", 2) +
                                        tag("caps", 4) + tag("cann", "Gzipped Song") +
                                        tag("cast", 200000) + tag("cant", 150000)))
        if path == "/ctrl-int/1/getproperty":
            return self.answer(200, tag("cmgt", tag("mstt", 200) + tag("cmvo", 30)))
        return self.answer(204)
    def do_POST(self):
        # commands are POSTs, as the Remote app and pyatv send them: the
        # log says which method came
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n:
            self.rfile.read(n)
        print("POST", end=" ", flush=True)
        return self.do_GET()

srv = http.server.HTTPServer(("127.0.0.1", 0), Device)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_port)
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
EOF

# device NAME MODE: start one, its config in NAME.json
device() {
	python3 "$TRASH/device.py" "$2" "$TRASH/$1.port" > "$TRASH/$1.log" 2>&1 &
	test_atexit "kill $! 2>/dev/null"
	wait_for_file "$TRASH/$1.port" &&
	jq -n -c --argjson port "$(cat "$TRASH/$1.port")" --arg id "$1" '{name: $id,
		address: "127.0.0.1", identifier: $id, all_identifiers: [$id],
		services: [{protocol: "dmap", port: $port, identifier: $id,
			credentials: "0x0000000000000001", properties: {}}]}' > "$1.json"
}

test_expect_success 'a device that checks the Remote app headers: playing, gzipped' '
	device strict strict &&
	timeout $T atv-send playing play < strict.json > out 2> err &&
	test_jq ".ok" out &&
	jq -s -e ".[0].playing.title == \"Gzipped Song\" and .[0].playing.position == 50" out &&
	! grep missing "$TRASH/strict.log" &&
	grep -q "^POST /ctrl-int/1/play ok" "$TRASH/strict.log" &&
	grep -q "^/ctrl-int/1/playstatusupdate ok" "$TRASH/strict.log"
'

test_expect_success 'and its long poll through atv-watch' '
	timeout $T atv-watch < strict.json > w.out 2> w.err &
	wpid=$! &&
	test_atexit "kill $wpid 2>/dev/null" &&
	n=500 && while [ $n -gt 0 ] && ! grep -q "\"volume\":30" w.out; do
		sleep 0.02; n=$((n - 1)); done &&
	grep -q "\"title\":\"Gzipped Song\"" w.out &&
	kill $wpid && wait $wpid; test $? -eq 0 &&
	! grep missing "$TRASH/strict.log"
'

test_expect_success 'a 10 MB header line: exit 5 at once, a clear message' '
	device bigline bigline &&
	test_must_fail 5 timeout $T atv-send play < bigline.json > out 2> err &&
	grep -q "response headers larger than 65536 bytes" err &&
	! grep -q "out of memory" err &&
	test $(wc -l < err) -eq 1
'

test_expect_success 'endless short header lines: exit 5, the same message' '
	device manylines manylines &&
	test_must_fail 5 timeout $T atv-send play < manylines.json > out 2> err &&
	grep -q "response headers larger than 65536 bytes" err
'

test_expect_success 'an answer that is not HTTP: exit 5, not a usage error' '
	device nothttp nothttp &&
	test_must_fail 5 timeout $T atv-send play < nothttp.json > out 2> err &&
	grep -q "/login: " err
'

test_done
