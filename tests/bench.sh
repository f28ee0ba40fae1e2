#!/usr/bin/env bash
# Throughput / CPU / memory / latency benchmark: tete against the classic netcats,
# plaintext and encrypted.
#
#   tests/bench.sh                      # 1 GiB, 5 mixed runs (about five minutes)
#   SIZE_MB=256 RUNS=1 tests/bench.sh   # quick look
#   PROFILE=1 tests/bench.sh            # perf profile of the password mode, no benchmark
#
# Builds tete in release mode, then pushes the same file over 127.0.0.1 through
# tete and every installed peer (OpenBSD nc, ncat, socat, socat -b 262144):
#   file:  tool <file   ->  tool >/dev/null
#   pipe:  cat file | tool   ->   tool | cat >/dev/null
# and measures a chat round trip (a 30-byte line into the client's stdin, echoed
# by a loopback echo server, read back from its stdout). The pipe row has one more
# peer, the limit of the machine: a cat | cat | cat | cat chain, a pipe where the
# connection is (its CPU figure is the two middle cats').
# Runs are a mixed sequence, as people's machines are: each run takes every tool in
# turn, its file transfer, then its pipe transfer, then every tool's round trip;
# each run starts one tool further down the list, so no tool always follows the
# same one. Plaintext and encrypted rows are in the same runs. The median of the
# runs is reported, and the pipe row's ratio to socat -b 262144 and to the chain.
# Peers that are not installed are skipped (and the script says so).
#
# Encrypted rows, in the same interleaved runs (no round trip: the echo server
# speaks plaintext):
#   tete (password)           TETE_PASSWORD on both ends (the cipher both ends pick)
#   tete (password, ChaCha)   also TETE_TEST_CIPHER=chacha20-poly1305 on both ends,
#                             the testing-only switch that forces ChaCha20-Poly1305
#                             (a tete that does not know the variable ignores it:
#                             the row then measures the same cipher as the one above)
#   socat -b 262144 TLS       socat -u with OPENSSL-LISTEN / OPENSSL, verify=0
#   ncat --ssl                when its two-way client moves 64 MiB intact (checked
#                             first); else one line says how it failed, and the row
#                             is its one-way client, ncat --ssl --send-only (what
#                             socat -u is), if that works
# Both TLS tools use a throwaway P-256 certificate made with openssl in the temp dir.
# The tete password rows need a tete whose --help mentions --password-file.
#
# CPU comes from GNU time (10 ms resolution per end), so small SIZE_MB runs give
# coarse CPU figures; use the default size for CPU comparisons.
#
# Environment: SIZE_MB (default 1024), RUNS (default 5), RTT_N round trips per
# run (default 200), TIMEOUT seconds per transfer (default 20 + SIZE_MB/64),
# BENCH_STRICT=1 to exit 1 when a target is missed; BENCH_DATA_DIR, where the input file is
# made (default target/, on the repository's disk: see the workspace below).
# PROFILE=1 (or PROFILE=chacha for the forced ChaCha20-Poly1305) skips the
# benchmark: one password-mode file -> /dev/null transfer of SIZE_MB with both
# tete ends under `perf record -e cpu-clock`, then a flat `perf report` of the
# receiver and of the sender (needs perf: apt-get install linux-perf).
#
# Needs: cargo, python3, ss (iproute2), coreutils; /usr/bin/time (GNU time) for
# CPU and peak RSS per end (installed with apt-get when running as root);
# openssl for the TLS rows.

set -uo pipefail

SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-5}
RTT_N=${RTT_N:-200}
TIMEOUT=${TIMEOUT:-$((20 + SIZE_MB / 64))}
BENCH_STRICT=${BENCH_STRICT:-0}
PROFILE=${PROFILE:-}
SIZE=$((SIZE_MB * 1048576))
TFMT='%e %U %S %M'

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

[[ $SIZE_MB =~ ^[1-9][0-9]*$ ]] || die "SIZE_MB must be a positive integer"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
[[ $RTT_N =~ ^[1-9][0-9]*$ ]] || die "RTT_N must be a positive integer"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "TIMEOUT must be a positive integer"
[[ -z $PROFILE || $PROFILE == 1 || $PROFILE == chacha ]] || die "PROFILE must be 1 or chacha"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || die "cannot find the repository root"
cd "$ROOT" || die "cannot cd to $ROOT"
BENCH_START=$EPOCHREALTIME

# A password inherited from the caller would turn the plaintext rows into password rows,
# a cipher switch the password row into the forced-ChaCha one.
unset TETE_PASSWORD TETE_TEST_CIPHER

for need in cargo python3 ss timeout; do
    command -v "$need" >/dev/null 2>&1 || die "$need is required"
done

# Installs Debian package $1 quietly when running as root with apt-get; else does nothing.
apt_install() {
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        note "installing $1"
        apt-get install -y "$1" >/dev/null 2>&1 || true
    fi
}

TIME=/usr/bin/time
[[ -x $TIME ]] || apt_install time
[[ -x $TIME ]] || die "/usr/bin/time (GNU time) is required for CPU and RSS figures (apt-get install time)"

# Hardware counters are often missing (virtual machines): the profile samples cpu-clock.
if [[ -n $PROFILE ]]; then
    command -v perf >/dev/null 2>&1 || apt_install linux-perf
    perf stat -e cpu-clock true >/dev/null 2>&1 ||
        die "PROFILE needs a working perf (apt-get install linux-perf; perf stat -e cpu-clock true fails here)"
fi

# ---------------------------------------------------------------- build
echo "== cargo build --release"
cargo build --release --quiet || die "cargo build --release failed"
[[ -x $ROOT/target/release/tete ]] || die "no target/release/tete after the build"

# ---------------------------------------------------------------- workspace
W='' DATA_DIR=''
declare -a LIVE_GROUPS=() LIVE_PIDS=()
ECHO_PID=

# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
    local p
    for p in "${LIVE_GROUPS[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
    for p in "${LIVE_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    [[ -n $ECHO_PID ]] && kill "$ECHO_PID" 2>/dev/null
    rm -rf "$W" "$DATA_DIR"
}
trap cleanup EXIT
trap 'echo; note "interrupted"; exit 130' INT TERM

# free_kib DIR: the space left in DIR's file system, in KiB ("" if df cannot tell).
free_kib() {
    local kib
    kib=$(df -Pk "$1" 2>/dev/null | awk 'NR == 2 { print $4 }')
    [[ $kib =~ ^[0-9]+$ ]] && echo "$kib"
}

# The input file lives in a disk file system's page cache, where the files people send usually
# are: tmpfs's read path ran at half the speed here (dd bs=64k of a cached 1 GiB file: 5.6 GB/s
# from /dev/shm, 11.1 from ext4), a cost every tool paid that reads its input with read(2),
# which is all of them but plaintext tete. target/ is on the repository's disk;
# BENCH_DATA_DIR=/dev/shm measures from tmpfs.
DATA_PARENT=${BENCH_DATA_DIR:-$ROOT/target}
DATA_DIR=$(mktemp -d "$DATA_PARENT/tete-bench-data.XXXXXX") || die "cannot make a directory in $DATA_PARENT"
DATA=$DATA_DIR/data
avail_kb=$(free_kib "$DATA_DIR")
[[ -z $avail_kb ]] || ((avail_kb > SIZE / 1024 + 65536)) ||
    die "$DATA_PARENT has $((avail_kb / 1024)) MiB free, too little for ${SIZE_MB} MiB of data"
[[ -z ${BENCH_DATA_DIR:-} && $(stat -f -c %T "$DATA_DIR") == tmpfs ]] &&
    note "$DATA_PARENT is on tmpfs: the input is read from tmpfs, slower than from a disk's page cache"

# Everything else (the received copies the checks compare, results) on tmpfs when it has room,
# keeping disk writeback out of the numbers, else in TMPDIR.
parent=${TMPDIR:-/tmp}
if [[ -d /dev/shm && -w /dev/shm ]]; then
    avail_kb=$(free_kib /dev/shm)
    if [[ -n $avail_kb ]] && ((avail_kb > SIZE * 3 / 2048 + 65536)); then
        parent=/dev/shm
    fi
fi
W=$(mktemp -d "$parent/tete-bench.XXXXXX") || die "cannot make a directory in $parent"
# A private copy, so a rebuild in the tree during the run cannot swap binaries mid-benchmark.
TETE=$W/tete
cp "$ROOT/target/release/tete" "$TETE" || die "cannot copy target/release/tete"
RESULTS=$W/results.tsv
RTTS=$W/rtt.tsv
: >"$RESULTS"
: >"$RTTS"

# ---------------------------------------------------------------- python helper
cat >"$W/helper.py" <<'PY'
import os, socket, statistics, subprocess, sys, threading, time

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])

def echo(portfile):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(tmp, portfile)
    def serve(c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with c:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                c.sendall(b)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

def rtt(n, cmd):
    """Median microseconds for a 30-byte line: client stdin -> echo -> client stdout."""
    line = b"0123456789abcdefghijklmnopqrs\n"  # 30 bytes
    assert len(line) == 30
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    out = p.stdout.fileno()
    def one():
        t0 = time.perf_counter_ns()
        p.stdin.write(line)
        got = b""
        while len(got) < len(line):
            b = os.read(out, 4096)
            if not b:
                raise RuntimeError("client closed after %d bytes" % len(got))
            got += b
        t1 = time.perf_counter_ns()
        if got != line:
            raise RuntimeError("echo mismatch: %r" % got)
        return (t1 - t0) / 1000.0
    status = "ok"
    samples = []
    try:
        for _ in range(20):  # warm-up
            one()
        samples = [one() for _ in range(n)]
    except Exception as e:
        status = "fail"
        print("rtt %s: %s" % (cmd[0], e), file=sys.stderr)
    try:
        p.stdin.close()
    except Exception:
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        print("rtt %s: client did not exit within 5 s after stdin EOF (killed)" % cmd[0], file=sys.stderr)
        if status == "ok":
            status = "noexit"
    print("%s\t%.1f" % (status, statistics.median(samples) if samples else 0.0))

def report(results, rtts, tools_file, size, runs, strict):
    tools = [l.rstrip("\n").split("\t") for l in open(tools_file) if l.strip()]
    ids = [t[0] for t in tools]
    label = {t[0]: t[1] for t in tools}
    kind = {t[0]: t[2] for t in tools}
    rows = {}
    for l in open(results):
        tool, mode, run, status, wall, cpu, rss = l.rstrip("\n").split("\t")
        rows.setdefault((tool, mode), []).append((status, float(wall), float(cpu), int(rss)))
    rt = {}
    for l in open(rtts):
        tool, run, status, us = l.rstrip("\n").split("\t")
        rt.setdefault(tool, []).append((status, float(us)))
    gib = size / 2**30

    def cell(tool, mode):
        """(gbps, cpu s/GiB, rss KiB) medians, or a status word."""
        r = rows.get((tool, mode))
        if not r:
            return "n/a"
        bad = [s for s, *_ in r if s != "ok"]
        if bad:
            return "%s %d/%d" % (bad[0].split("(")[0], len(bad), len(r))
        gbps = statistics.median(size / 1e9 / w for _, w, _, _ in r)
        cpu = statistics.median(c / gib for _, _, c, _ in r)
        return (gbps, cpu, max(x for *_, x in r))

    summary = {}
    for t in ids:
        f, p = cell(t, "file"), cell(t, "pipe")
        rss = [c[2] for c in (f, p) if isinstance(c, tuple)]
        r = rt.get(t)
        if not r:
            rtv = "n/a"
        elif any(s != "ok" for s, _ in r):
            rtv = next(s for s, _ in r if s != "ok")
        else:
            rtv = statistics.median(u for _, u in r)
        summary[t] = {
            "file": f[0] if isinstance(f, tuple) else f,
            "pipe": p[0] if isinstance(p, tuple) else p,
            "cpuf": f[1] if isinstance(f, tuple) else f,
            "cpup": p[1] if isinstance(p, tuple) else p,
            "rss": max(rss) / 1024 if rss else "n/a",
            "rtt": rtv,
        }

    def fmt(v, spec):
        return format(v, spec) if isinstance(v, float) else str(v)

    cols = [("file GB/s", "file", ".2f"), ("pipe GB/s", "pipe", ".2f"),
            ("CPU s/GiB file", "cpuf", ".3f"), ("CPU s/GiB pipe", "cpup", ".3f"),
            ("peak RSS MiB", "rss", ".1f"), ("round trip us", "rtt", ".1f")]
    tete = summary["tete"]
    peers = [t for t in ids if kind[t] == "plain"]
    chain = [t for t in ids if kind[t] == "chain"]
    secure_tetes = [t for t in ids if kind[t] == "tete-secure"]
    secure_peers = [t for t in ids if kind[t] == "secure"]
    secure = secure_tetes + secure_peers

    w0 = max(len(label[t]) for t in ids) + 2
    print()
    print("== results: %d MiB, %d run(s), median per cell (peak RSS: max of either end, any run)" % (size // 2**20, runs))
    print("".ljust(w0) + "".join(h.rjust(16) for h, _, _ in cols))
    for t in ids:
        if secure and t == secure[0]:
            print("encrypted (no round trip: the echo server speaks plaintext)")
        print(label[t].ljust(w0) + "".join(fmt(summary[t][k], s).rjust(16) for _, k, s in cols))

    # Every run's pipe figures side by side, the tool's own medians' spread in view.
    def run_gbps(tool, mode):
        return ["%.2f" % (size / 1e9 / w) if s == "ok" else s.split("(")[0]
                for s, w, _, _ in rows.get((tool, mode), [])]
    print()
    print("== pipe -> pipe, every run (GB/s, in run order)")
    for t in ids:
        if (t, "pipe") in rows:
            print(label[t].ljust(w0) + " ".join(g.rjust(6) for g in run_gbps(t, "pipe")))

    def ratio(a, b):
        return a / b if isinstance(a, float) and isinstance(b, float) and b > 0 else None

    def ratio_rows(pairs, cols):
        """One line per (name, a, b): a's figure over b's for every column."""
        w = max(len(name) for name, _, _ in pairs) + 2
        print("".ljust(w) + "".join(h.rjust(16) for h, _, _ in cols))
        for name, a, b in pairs:
            cells = []
            for _, k, _ in cols:
                r = ratio(a[k], b[k])
                cells.append(("%.2fx" % r) if r is not None else "-")
            print(name.ljust(w) + "".join(c.rjust(16) for c in cells))

    print()
    print("== ratios tete / peer (throughput: higher is better; CPU, RSS, round trip: lower is better)")
    ratio_rows([("vs " + label[t], tete, summary[t]) for t in peers], cols)
    print()
    print("== pipe -> pipe: tete / socat -b 262144 and / the cat chain (medians)")
    for other in ["socat-b"] + chain:
        if other in ids:
            r = ratio(tete["pipe"], summary[other]["pipe"])
            print("%s%s" % (("vs " + label[other]).ljust(w0 + 3), ("%.2fx" % r) if r is not None else "-"))
    if secure_tetes:
        print()
        print("== encrypted: tete's password mode / plaintext tete and / each encrypted peer")
        ratio_rows([(label[t] + " / " + label[b], summary[t], summary[b])
                    for t in secure_tetes for b in ["tete"] + secure_peers],
                   [c for c in cols if c[1] != "rtt"])

    print()
    print("== targets")
    checks = []

    def check(text, ok):
        word = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
        checks.append(word)
        print("%s  %s" % (word, text))

    def vs(who, key, peer, need, text):
        """who's figure at least need times peer's (both rows in this run)."""
        if peer not in ids:
            check("%s (peer not installed)" % text, None)
            return
        mine, theirs = summary[who][key], summary[peer][key]
        r = ratio(mine, theirs)
        if r is None:
            check("%s: %s %s, %s %s" % (text, label[who], fmt(mine, ".2f"), label[peer], fmt(theirs, ".2f")),
                  False if not isinstance(mine, float) else None)
            return
        check("%s: %.2fx (%s %.2f, %s %.2f)" % (text, r, label[who], mine, label[peer], theirs), r >= need)

    def bounded(text, v, bound, at_least, spec, unit):
        """A figure against a fixed bound; a failed measurement fails."""
        if not isinstance(v, float):
            check("%s: %s" % (text, v), False)
        else:
            check(("%s: %" + spec + " %s") % (text, v, unit), v >= bound if at_least else v <= bound)

    vs("tete", "file", "nc", 2.5, "file -> /dev/null: tete >= 2.5x OpenBSD nc")
    vs("tete", "file", "socat-b", 1.0, "file -> /dev/null: tete >= 1.0x socat -b 262144")
    vs("tete", "pipe", "socat-b", 1.1, "pipe -> pipe: tete >= 1.1x socat -b 262144")
    vs("tete", "pipe", "chain", 0.9, "pipe -> pipe: tete >= 0.9x the cat chain")
    for key, what in (("cpuf", "file"), ("cpup", "pipe")):
        others = [(summary[t][key], label[t]) for t in peers if isinstance(summary[t][key], float)]
        if not isinstance(tete[key], float):
            check("CPU s/GiB (%s) lowest of all: tete %s" % (what, tete[key]), False)
        elif not others:
            check("CPU s/GiB (%s) lowest of all (no peer measured)" % what, None)
        else:
            best = min(others)
            check("CPU s/GiB (%s) lowest of all: tete %.3f, best peer %s %.3f"
                  % (what, tete[key], best[1], best[0]), tete[key] <= best[0])
    bounded("peak RSS of either end <= 4 MiB: tete", tete["rss"], 4.0, False, ".1f", "MiB")
    others = [(summary[t]["rtt"], label[t]) for t in peers if isinstance(summary[t]["rtt"], float)]
    if not isinstance(tete["rtt"], float):
        check("round trip <= 1.1x best peer: tete %s" % tete["rtt"], False)
    elif not others:
        check("round trip <= 1.1x best peer (no peer measured)", None)
    else:
        best = min(others)
        check("round trip <= 1.1x best peer: tete %.1f us, best %s %.1f us (%.2fx)"
              % (tete["rtt"], best[1], best[0], tete["rtt"] / best[0]), tete["rtt"] <= 1.1 * best[0])
    if secure_tetes:
        vs("tete-pw", "file", "tete", 0.3, "password file -> /dev/null >= 0.3x plaintext tete")
        vs("tete-pw", "file", "socat-tls", 2.0, "password file -> /dev/null >= 2x socat -b 262144 TLS")
        for t in secure_tetes:
            bounded("peak RSS of either end <= 4 MiB: " + label[t], summary[t]["rss"], 4.0, False, ".1f", "MiB")
        bounded("ChaCha20-Poly1305 forced (if tete knows TETE_TEST_CIPHER), file -> /dev/null >= 1.5 GB/s",
                summary["tete-pw-chacha"]["file"], 1.5, True, ".2f", "GB/s")
    else:
        check("password mode targets (tete has no --password-file)", None)
    print()
    print("%d PASS, %d FAIL, %d SKIP" % (checks.count("PASS"), checks.count("FAIL"), checks.count("SKIP")))
    return 1 if strict and "FAIL" in checks else 0

if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "port":
        free_port()
    elif mode == "echo":
        echo(sys.argv[2])
    elif mode == "rtt":
        rtt(int(sys.argv[2]), sys.argv[3:])
    elif mode == "report":
        sys.exit(report(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), sys.argv[7] == "1"))
PY
# The real interpreter, not a version-manager shim (a shim costs ~0.2 s a call).
PYTHON=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not run"
HELPER=("$PYTHON" "$W/helper.py")

free_port() { "${HELPER[@]}" port; }

# Waits (bounded) until something listens on 127.0.0.1:$1 while process $2 lives.
wait_listen() {
    local port=$1 pid=$2 i
    for ((i = 0; i < 500; i++)); do
        [[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.01
    done
    return 1
}

# ---------------------------------------------------------------- tools
# Plaintext rows first, then the encrypted ones; KIND says which is which for the report:
# tete, plain (a plaintext peer), tete-secure (a tete password row), secure (an encrypted peer).
TOOLS=(tete)
declare -A LABEL=([tete]="tete" [nc]="nc (OpenBSD)" [ncat]="ncat" [socat]="socat"
    [socat-b]="socat -b 262144" [tete-pw]="tete (password)" [tete-pw-chacha]="tete (password, ChaCha)"
    [socat-tls]="socat -b 262144 TLS" [ncat-tls]="ncat --ssl" [ncat-tls-1way]="ncat --ssl --send-only"
    [chain]="cat|cat|cat|cat")
declare -A KIND=([tete]=tete [tete-pw]=tete-secure [tete-pw-chacha]=tete-secure [chain]=chain
    [socat-tls]=secure [ncat-tls]=secure [ncat-tls-1way]=secure)

if ! command -v nc >/dev/null 2>&1; then
    note "skipping nc: not installed"
elif ! nc -h 2>&1 | grep -q OpenBSD; then
    note "skipping nc: $(command -v nc) is not OpenBSD netcat"
else
    TOOLS+=(nc)
fi
HAVE_NCAT=0 HAVE_SOCAT=0
if command -v ncat >/dev/null 2>&1; then TOOLS+=(ncat) HAVE_NCAT=1; else note "skipping ncat: not installed"; fi
if command -v socat >/dev/null 2>&1; then
    TOOLS+=(socat socat-b) HAVE_SOCAT=1
else
    note "skipping socat and socat -b 262144: not installed"
fi
# The pipe row's yardstick: cat | cat | cat | cat, a pipe where the connection is (no file row).
TOOLS+=(chain)
if "$TETE" --help 2>&1 | grep -q -- '--password-file'; then
    TOOLS+=(tete-pw tete-pw-chacha)
else
    note "skipping the tete password rows: tete --help does not mention --password-file"
fi
# A throwaway certificate for both TLS peers (verify=0: the bench measures the cipher, not a PKI).
CERT=$W/cert.pem KEY=$W/key.pem
HAVE_CERT=0
if ((HAVE_SOCAT || HAVE_NCAT)); then
    if ! command -v openssl >/dev/null 2>&1; then
        note "skipping the TLS rows: openssl is not installed"
    elif openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=localhost -keyout "$KEY" -out "$CERT" >/dev/null 2>"$W/openssl.err"; then
        HAVE_CERT=1
    else
        note "skipping the TLS rows: openssl could not make a certificate: $(head -n1 "$W/openssl.err")"
    fi
fi
((HAVE_SOCAT && HAVE_CERT)) && TOOLS+=(socat-tls)
# ncat --ssl joins TOOLS after its 64 MiB check (below, once the helpers exist).

# Sets TOOL_ENV (NAME=value words for env), RECV (listener that writes to stdout) and SEND
# (client that reads stdin) for tool $1, port $2.
tool_cmds() {
    local p=$2
    TOOL_ENV=()
    case $1 in
    tete | tete-pw | tete-pw-chacha)
        RECV=("$TETE" -l 127.0.0.1 "$p")
        SEND=("$TETE" 127.0.0.1 "$p") ;;
    nc) # OpenBSD nc: -N half-closes on stdin EOF, else the listener never sees EOF.
        RECV=(nc -l 127.0.0.1 "$p")
        SEND=(nc -N 127.0.0.1 "$p") ;;
    ncat)
        RECV=(ncat -l 127.0.0.1 "$p")
        SEND=(ncat 127.0.0.1 "$p") ;;
    socat)
        RECV=(socat -u "TCP-LISTEN:$p,bind=127.0.0.1,reuseaddr" STDOUT)
        SEND=(socat -u STDIN "TCP:127.0.0.1:$p") ;;
    socat-b)
        RECV=(socat -b 262144 -u "TCP-LISTEN:$p,bind=127.0.0.1,reuseaddr" STDOUT)
        SEND=(socat -b 262144 -u STDIN "TCP:127.0.0.1:$p") ;;
    socat-tls)
        RECV=(socat -b 262144 -u "OPENSSL-LISTEN:$p,cert=$CERT,key=$KEY,verify=0,reuseaddr,bind=127.0.0.1" STDOUT)
        SEND=(socat -b 262144 -u STDIN "OPENSSL:127.0.0.1:$p,verify=0") ;;
    chain) # the middle two cats of the chain, joined by a pipe instead of a connection
        RECV=(cat)
        SEND=(cat) ;;
    ncat-tls | ncat-tls-1way)
        RECV=(ncat --ssl --ssl-cert "$CERT" --ssl-key "$KEY" -l 127.0.0.1 "$p")
        SEND=(ncat --ssl 127.0.0.1 "$p")
        [[ $1 == ncat-tls-1way ]] && SEND=(ncat --ssl --send-only 127.0.0.1 "$p") ;;
    esac
    case $1 in
    tete-pw) TOOL_ENV=(TETE_PASSWORD=bench-password) ;;
    tete-pw-chacha) TOOL_ENV=(TETE_PASSWORD=bench-password TETE_TEST_CIPHER=chacha20-poly1305) ;;
    esac
}

# Interactive client (stdin -> host:port -> stdout) for the round trip.
rtt_cmd() {
    local p=$2
    case $1 in
    # -N, as nc's: the echo server waits for our end, and tete (which has heard the echo)
    # would otherwise wait for the server's, as the end rules hold a FIN once bytes have come.
    tete) RTT=("$TETE" -N 127.0.0.1 "$p") ;;
    nc) RTT=(nc -N 127.0.0.1 "$p") ;;
    ncat) RTT=(ncat 127.0.0.1 "$p") ;;
    socat) RTT=(socat STDIO "TCP:127.0.0.1:$p") ;;
    socat-b) RTT=(socat -b 262144 STDIO "TCP:127.0.0.1:$p") ;;
    *) RTT=() ;;
    esac
}

# end_status RC TIMEFILE -> ok | hang | fail:N
end_status() {
    local rc=$1
    if ((rc == 124 || rc == 137)); then echo hang
    elif ((rc != 0)); then echo "fail:$rc"
    elif [[ ! -s $2 ]]; then echo "fail:no-time-output"
    else echo ok
    fi
}

# Commands put between GNU time and the tool's listener and client (the profile's perf record).
RECV_WRAP=() SEND_WRAP=()

# transfer TOOL MODE SINK [SRC]
#   MODE file: receiver writes to SINK (a path, /dev/null for timed runs), sender reads SRC ($DATA).
#   MODE pipe: cat SRC | sender; receiver | cat >/dev/null (SINK=null) or | wc -c (SINK=count).
# Sets T_STATUS (ok, hang, fail(...), short(N)), T_WALL (s), T_CPU (user+sys both ends, s), T_RSS (KiB, max end).
transfer() {
    local tool=$1 mode=$2 sink=$3 src=${4:-$DATA} port t0 t1 r_rc s_rc rpid spid rcat='' scat='' rt st
    port=$(free_port)
    tool_cmds "$tool" "$port"
    rm -f "$W"/r.time "$W"/s.time "$W"/count "$W"/rfifo "$W"/sfifo "$W"/mfifo
    # The chain's middle: the receiver reads what the sender writes, through a pipe.
    local rin=/dev/null sout=/dev/null
    if [[ $tool == chain ]]; then
        mkfifo "$W/mfifo"
        rin=$W/mfifo sout=$W/mfifo
    fi

    # env sets the tool's variables (it execs, so $! stays the watchdog); timeout is the
    # watchdog (it kills its own process group: time and the tool); GNU time sits right
    # above the tool so %M is the tool's own peak RSS.
    if [[ $mode == file ]]; then
        env "${TOOL_ENV[@]}" timeout -k 2 "$TIMEOUT" "$TIME" -o "$W/r.time" -f "$TFMT" \
            "${RECV_WRAP[@]}" "${RECV[@]}" </dev/null >"$sink" &
        rpid=$!
    else
        mkfifo "$W/rfifo" "$W/sfifo"
        if [[ $sink == count ]]; then wc -c <"$W/rfifo" >"$W/count" & else cat <"$W/rfifo" >/dev/null & fi
        rcat=$!
        env "${TOOL_ENV[@]}" timeout -k 2 "$TIMEOUT" "$TIME" -o "$W/r.time" -f "$TFMT" \
            "${RECV_WRAP[@]}" "${RECV[@]}" <"$rin" >"$W/rfifo" &
        rpid=$!
    fi
    LIVE_GROUPS=("$rpid")
    LIVE_PIDS=(${rcat:+"$rcat"})

    if [[ $tool != chain ]] && ! wait_listen "$port" "$rpid"; then
        kill -KILL -- "-$rpid" 2>/dev/null
        wait "$rpid" 2>/dev/null
        [[ -n $rcat ]] && wait "$rcat" 2>/dev/null
        T_STATUS="fail(no listen)" T_WALL=0 T_CPU=0 T_RSS=0
        return
    fi

    t0=$EPOCHREALTIME
    if [[ $mode == file ]]; then
        env "${TOOL_ENV[@]}" timeout -k 2 "$TIMEOUT" "$TIME" -o "$W/s.time" -f "$TFMT" \
            "${SEND_WRAP[@]}" "${SEND[@]}" <"$src" >/dev/null &
        spid=$!
    else
        cat "$src" >"$W/sfifo" &
        scat=$!
        env "${TOOL_ENV[@]}" timeout -k 2 "$TIMEOUT" "$TIME" -o "$W/s.time" -f "$TFMT" \
            "${SEND_WRAP[@]}" "${SEND[@]}" <"$W/sfifo" >"$sout" &
        spid=$!
    fi
    LIVE_GROUPS+=("$spid")
    LIVE_PIDS+=(${scat:+"$scat"})

    wait "$spid"; s_rc=$?
    # If the receiver hangs after the sender is done, its own timeout ends it.
    wait "$rpid"; r_rc=$?
    [[ -n $scat ]] && wait "$scat" 2>/dev/null
    [[ -n $rcat ]] && wait "$rcat" 2>/dev/null
    t1=$EPOCHREALTIME
    LIVE_GROUPS=() LIVE_PIDS=()

    rt=$(end_status "$r_rc" "$W/r.time")
    st=$(end_status "$s_rc" "$W/s.time")
    if [[ $rt == ok && $st == ok ]]; then T_STATUS=ok
    elif [[ $rt == "$st" ]]; then T_STATUS="$rt(both ends)"
    elif [[ $rt != ok ]]; then T_STATUS="$rt(listener)"
    else T_STATUS="$st(client)"
    fi
    T_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    if [[ $T_STATUS == ok ]]; then
        read -r T_CPU T_RSS < <(tail -n1 "$W/r.time" "$W/s.time" 2>/dev/null | awk '
            NF == 4 { cpu += $2 + $3; if ($4 > rss) rss = $4; n++ }
            END { printf "%.2f %d\n", cpu, (n == 2 ? rss : -1) }')
        ((T_RSS < 0)) && T_STATUS="fail(time output)"
    else
        T_CPU=0 T_RSS=0
    fi
    if [[ $T_STATUS == ok && $mode == pipe && $sink == count ]]; then
        local got; got=$(tr -d ' \n' <"$W/count")
        [[ $got == "$(stat -c %s "$src")" ]] || T_STATUS="short($got)"
    fi
}

# ---------------------------------------------------------------- test data
echo "== ${SIZE_MB} MiB of random data in $DATA_DIR ($(stat -f -c %T "$DATA_DIR")), the rest in $W"
head -c "$SIZE" /dev/urandom >"$DATA" || die "cannot write $DATA"
# On disk before the runs (no writeback during them), and read once so that it is all cached.
# (sync FILE needs coreutils 8.24, from 2015.)
sync "$DATA" || die "cannot sync $DATA"
cat "$DATA" >/dev/null
if command -v fincore >/dev/null 2>&1; then
    if cached=$(fincore --bytes --noheadings --output RES "$DATA" 2>/dev/null | tr -d ' ') &&
        [[ $cached =~ ^[0-9]+$ ]]; then
        ((cached == SIZE)) || note "only $cached of $SIZE bytes of $DATA are cached: runs may read the disk"
    else
        note "fincore cannot tell whether $DATA is cached (util-linux too old?)"
    fi
fi

# checked_file_transfer TOOL SRC: a file transfer into a file, then its size and bytes against SRC.
# Sets C_STATUS (transfer()'s status, short(N) or corrupt) and C_GOT (bytes received).
checked_file_transfer() {
    local want
    want=$(stat -c %s "$2")
    transfer "$1" file "$W/recv" "$2"
    C_STATUS=$T_STATUS
    C_GOT=$(stat -c %s "$W/recv" 2>/dev/null || echo 0)
    if [[ $C_STATUS == ok ]]; then
        if [[ $C_GOT != "$want" ]]; then C_STATUS="short($C_GOT)"
        elif ! cmp -s "$2" "$W/recv"; then C_STATUS=corrupt
        fi
    fi
    rm -f "$W/recv"
}

# ---------------------------------------------------------------- profile (PROFILE=1 or chacha)
if [[ -n $PROFILE ]]; then
    ptool=tete-pw
    [[ $PROFILE == chacha ]] && ptool=tete-pw-chacha
    [[ " ${TOOLS[*]} " == *" $ptool "* ]] || die "PROFILE: tete has no password mode to profile"
    echo "== profile: ${LABEL[$ptool]}, file -> /dev/null, both ends under perf record -e cpu-clock"
    RECV_WRAP=(perf record -q -e cpu-clock -o "$W/perf.recv" --)
    SEND_WRAP=(perf record -q -e cpu-clock -o "$W/perf.send" --)
    transfer "$ptool" file /dev/null
    RECV_WRAP=() SEND_WRAP=()
    [[ $T_STATUS == ok ]] || die "the profiled transfer failed: $T_STATUS"
    awk -v s="$SIZE" -v w="$T_WALL" 'BEGIN { printf "  %.2f GB/s under perf (slower than unprofiled)\n", s / 1e9 / w }'
    for end in recv send; do
        echo
        if [[ $end == recv ]]; then echo "== perf report: the receiver (tete -l >/dev/null), symbols >= 0.5%"
        else echo "== perf report: the sender (tete <file), symbols >= 0.5%"
        fi
        # The sample count, then the rows without the IPC columns (empty without hardware counters).
        perf report -i "$W/perf.$end" --stdio --no-children --sort dso,symbol --percent-limit 0.5 2>/dev/null |
            sed -n -e '/^# Samples: /{s/^# /  /p;d;}' -e '/^[^#]/{s/ *- *- *$//;p;}' | head -n 40
    done
    exit 0
fi

# ---------------------------------------------------------------- ncat --ssl
# ncat's two-way --ssl client (7.93 here) has stopped with "Input/output error" after 32 KiB to
# a few MiB on this machine: a 64 MiB transfer decides whether it gets a row.
if ((HAVE_NCAT && HAVE_CERT)); then
    echo "== ncat --ssl: 64 MiB to a file (size and cmp) decides its row"
    head -c $((64 * 1048576)) /dev/urandom >"$W/probe" || die "cannot write $W/probe"
    checked_file_transfer ncat-tls "$W/probe" 2>"$W/probe.err"
    if [[ $C_STATUS == ok ]]; then
        TOOLS+=(ncat-tls)
    else
        echo "  ncat --ssl: no row: $C_STATUS after $C_GOT of $((64 * 1048576)) bytes ($(head -n1 "$W/probe.err"))"
        checked_file_transfer ncat-tls-1way "$W/probe" 2>"$W/probe.err"
        if [[ $C_STATUS == ok ]]; then
            TOOLS+=(ncat-tls-1way)
            echo "  ncat --ssl --send-only (one-way, as socat -u is) moves it intact: its row stands in"
        else
            echo "  ncat --ssl --send-only: no row either: $C_STATUS after $C_GOT bytes ($(head -n1 "$W/probe.err"))"
        fi
    fi
    rm -f "$W/probe" "$W/probe.err"
fi
for t in "${TOOLS[@]}"; do printf '%s\t%s\t%s\n' "$t" "${LABEL[$t]}" "${KIND[$t]:-plain}"; done >"$W/tools.tsv"

# ---------------------------------------------------------------- warm-up and correctness
echo "== warm-up: every tool once to a file (size and cmp) and once through pipes (wc -c)"
declare -A BROKEN=()
for t in "${TOOLS[@]}"; do
    s1=ok
    if [[ $t != chain ]]; then
        checked_file_transfer "$t" "$DATA"
        s1=$C_STATUS
    fi
    transfer "$t" pipe count
    s2=$T_STATUS
    printf '  %-24s file: %-12s pipe: %s\n' "${LABEL[$t]}" "$s1" "$s2"
    if [[ $s1 != ok || $s2 != ok ]]; then
        BROKEN[$t]=$([[ $s1 != ok ]] && echo "$s1" || echo "$s2")
        note "${LABEL[$t]} failed the warm-up (${BROKEN[$t]}); its cells show that instead of timings"
    fi
done

# ---------------------------------------------------------------- timed runs
# The mixed sequence: every tool in turn (file, then pipe), then every round trip; each run
# starts one tool further down the list.
echo "== timed runs: $RUNS mixed run(s) (per tool: file, pipe; then the round trips), timeout ${TIMEOUT}s per transfer"
"${HELPER[@]}" echo "$W/echo.port" &
ECHO_PID=$!
for ((i = 0; i < 500; i++)); do [[ -s $W/echo.port ]] && break; sleep 0.01; done
[[ -s $W/echo.port ]] || die "echo server did not start"
ECHO_PORT=$(<"$W/echo.port")
for ((run = 1; run <= RUNS; run++)); do
    n=${#TOOLS[@]}
    order=()
    for ((i = 0; i < n; i++)); do order+=("${TOOLS[(i + run - 1) % n]}"); done
    line="  run $run:"
    for t in "${order[@]}"; do
        for mode in file pipe; do
            [[ $t == chain && $mode == file ]] && continue
            if [[ -n ${BROKEN[$t]:-} ]]; then
                T_STATUS=${BROKEN[$t]} T_WALL=0 T_CPU=0 T_RSS=0
            else
                transfer "$t" "$mode" "$([[ $mode == file ]] && echo /dev/null || echo null)"
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$mode" "$run" "$T_STATUS" "$T_WALL" "$T_CPU" "$T_RSS" >>"$RESULTS"
            if [[ $T_STATUS == ok ]]; then
                line+=$(awk -v n="${LABEL[$t]} $mode" -v s="$SIZE" -v w="$T_WALL" 'BEGIN { printf "  %s %.2f", n, s / 1e9 / w }')
            else
                line+="  ${LABEL[$t]} $mode $T_STATUS"
            fi
        done
    done
    echo "$line (GB/s)"
    line="  run $run round trip:"
    for t in "${order[@]}"; do
        rtt_cmd "$t" "$ECHO_PORT"
        ((${#RTT[@]})) || continue
        read -r st us < <(timeout -k 2 60 "${HELPER[@]}" rtt "$RTT_N" "${RTT[@]}" || echo "hang 0")
        [[ -n ${st:-} ]] || st=fail us=0
        printf '%s\t%s\t%s\t%s\n' "$t" "$run" "$st" "$us" >>"$RTTS"
        line+="  ${LABEL[$t]} $([[ $st == ok ]] && echo "${us} us" || echo "$st")"
    done
    echo "$line"
done
kill "$ECHO_PID" 2>/dev/null
wait "$ECHO_PID" 2>/dev/null
ECHO_PID=

# ---------------------------------------------------------------- report
"${HELPER[@]}" report "$RESULTS" "$RTTS" "$W/tools.tsv" "$SIZE" "$RUNS" "$BENCH_STRICT"
status=$?
awk -v a="$BENCH_START" -v b="$EPOCHREALTIME" 'BEGIN { printf "\nbench took %.0f s\n", b - a }'
exit "$status"
