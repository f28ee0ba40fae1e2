#!/usr/bin/env bash
# Throughput / CPU / memory / latency benchmark: tete against the classic netcats.
#
#   tests/bench.sh                      # 1 GiB, 3 interleaved runs (a few minutes)
#   SIZE_MB=256 RUNS=1 tests/bench.sh   # quick look
#
# Builds tete in release mode, then pushes the same file over 127.0.0.1 through
# tete and every installed peer (OpenBSD nc, ncat, socat, socat -b 262144):
#   file:  tool <file   ->  tool >/dev/null
#   pipe:  cat file | tool   ->   tool | cat >/dev/null
# and measures a chat round trip (a 30-byte line into the client's stdin, echoed
# by a loopback echo server, read back from its stdout). Runs are interleaved
# (run 1 of every tool, then run 2, ...) and the median is reported.
# Peers that are not installed are skipped (and the script says so). A row
# "tete (password)" (TETE_PASSWORD on both ends) is added when `tete --help`
# mentions --password-file.
#
# CPU comes from GNU time (10 ms resolution per end), so small SIZE_MB runs give
# coarse CPU figures; use the default size for CPU comparisons.
#
# Environment: SIZE_MB (default 1024), RUNS (default 3), RTT_N round trips per
# run (default 200), TIMEOUT seconds per transfer (default 20 + SIZE_MB/64),
# BENCH_STRICT=1 to exit 1 when a target is missed.
#
# Needs: cargo, python3, ss (iproute2), coreutils; /usr/bin/time (GNU time) for
# CPU and peak RSS per end (installed with apt-get when running as root).

set -uo pipefail

SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-3}
RTT_N=${RTT_N:-200}
TIMEOUT=${TIMEOUT:-$((20 + SIZE_MB / 64))}
BENCH_STRICT=${BENCH_STRICT:-0}
SIZE=$((SIZE_MB * 1048576))
TFMT='%e %U %S %M'

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

[[ $SIZE_MB =~ ^[1-9][0-9]*$ ]] || die "SIZE_MB must be a positive integer"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
[[ $RTT_N =~ ^[1-9][0-9]*$ ]] || die "RTT_N must be a positive integer"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "TIMEOUT must be a positive integer"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || die "cannot find the repository root"
cd "$ROOT" || die "cannot cd to $ROOT"
BENCH_START=$EPOCHREALTIME

# A password inherited from the caller would turn the plaintext rows into password rows.
unset TETE_PASSWORD

for need in cargo python3 ss timeout; do
    command -v "$need" >/dev/null 2>&1 || die "$need is required"
done

TIME=/usr/bin/time
if [[ ! -x $TIME ]]; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        note "installing GNU time"
        apt-get install -y time >/dev/null 2>&1 || true
    fi
    [[ -x $TIME ]] || die "/usr/bin/time (GNU time) is required for CPU and RSS figures (apt-get install time)"
fi

# ---------------------------------------------------------------- build
echo "== cargo build --release"
cargo build --release --quiet || die "cargo build --release failed"
[[ -x $ROOT/target/release/tete ]] || die "no target/release/tete after the build"

# ---------------------------------------------------------------- workspace
# tmpfs when it has room (keeps disk writeback out of the numbers), else TMPDIR.
parent=${TMPDIR:-/tmp}
if [[ -d /dev/shm && -w /dev/shm ]]; then
    avail_kb=$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')
    if [[ -n $avail_kb ]] && ((avail_kb > SIZE * 5 / 2048 + 65536)); then
        parent=/dev/shm
    fi
fi
W=$(mktemp -d "$parent/tete-bench.XXXXXX") || die "mktemp failed"
DATA=$W/data
# A private copy, so a rebuild in the tree during the run cannot swap binaries mid-benchmark.
TETE=$W/tete
cp "$ROOT/target/release/tete" "$TETE" || die "cannot copy target/release/tete"
RESULTS=$W/results.tsv
RTTS=$W/rtt.tsv
: >"$RESULTS"
: >"$RTTS"
declare -a LIVE_GROUPS=() LIVE_PIDS=()
ECHO_PID=

# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
    local p
    for p in "${LIVE_GROUPS[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
    for p in "${LIVE_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    [[ -n $ECHO_PID ]] && kill "$ECHO_PID" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
trap 'echo; note "interrupted"; exit 130' INT TERM

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
    w0 = max(len(label[t]) for t in ids) + 2
    print()
    print("== results: %d MiB, %d run(s), median per cell (peak RSS: max of either end, any run)" % (size // 2**20, runs))
    print("".ljust(w0) + "".join(h.rjust(16) for h, _, _ in cols))
    for t in ids:
        print(label[t].ljust(w0) + "".join(fmt(summary[t][k], s).rjust(16) for _, k, s in cols))

    tete = summary["tete"]
    peers = [t for t in ids if t not in ("tete", "tete-pw")]

    def ratio(a, b):
        return a / b if isinstance(a, float) and isinstance(b, float) and b > 0 else None

    print()
    print("== ratios tete / peer (throughput: higher is better; CPU, RSS, round trip: lower is better)")
    print("".ljust(w0) + "".join(h.rjust(16) for h, _, _ in cols))
    def ratio_row(name, a, b):
        cells = []
        for _, k, _ in cols:
            r = ratio(a[k], b[k])
            cells.append(("%.2fx" % r) if r is not None else "-")
        print(name.ljust(w0) + "".join(c.rjust(16) for c in cells))
    for t in peers:
        ratio_row("vs " + label[t], tete, summary[t])
    if "tete-pw" in ids:
        print()
        print("password / plaintext tete (same directions)")
        ratio_row("tete (password)", summary["tete-pw"], tete)

    print()
    print("== targets")
    checks = []

    def check(text, ok):
        word = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
        checks.append(word)
        print("%s  %s" % (word, text))

    def vs(key, peer, need, text):
        if peer not in ids:
            check("%s (peer not installed)" % text, None)
            return
        r = ratio(tete[key], summary[peer][key])
        if r is None:
            check("%s: tete %s, %s %s" % (text, fmt(tete[key], ".2f"), label[peer], fmt(summary[peer][key], ".2f")),
                  False if not isinstance(tete[key], float) else None)
            return
        check("%s: %.2fx (tete %.2f, %s %.2f)" % (text, r, tete[key], label[peer], summary[peer][key]), r >= need)

    vs("file", "nc", 2.5, "file -> /dev/null: tete >= 2.5x OpenBSD nc")
    vs("file", "socat-b", 1.0, "file -> /dev/null: tete >= 1.0x socat -b 262144")
    vs("pipe", "socat-b", 1.2, "pipe -> pipe: tete >= 1.2x socat -b 262144")
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
    if isinstance(tete["rss"], float):
        check("peak RSS of either end <= 4 MiB: tete %.1f MiB" % tete["rss"], tete["rss"] <= 4.0)
    else:
        check("peak RSS of either end <= 4 MiB: tete %s" % tete["rss"], False)
    others = [(summary[t]["rtt"], label[t]) for t in peers if isinstance(summary[t]["rtt"], float)]
    if not isinstance(tete["rtt"], float):
        check("round trip <= 1.1x best peer: tete %s" % tete["rtt"], False)
    elif not others:
        check("round trip <= 1.1x best peer (no peer measured)", None)
    else:
        best = min(others)
        check("round trip <= 1.1x best peer: tete %.1f us, best %s %.1f us (%.2fx)"
              % (tete["rtt"], best[1], best[0], tete["rtt"] / best[0]), tete["rtt"] <= 1.1 * best[0])
    if "tete-pw" in ids:
        v = summary["tete-pw"]["file"]
        if isinstance(v, float):
            check("password mode file -> /dev/null >= 1.0 GB/s: %.2f GB/s" % v, v >= 1.0)
        else:
            check("password mode file -> /dev/null >= 1.0 GB/s: %s" % v, False)
    else:
        check("password mode file -> /dev/null >= 1.0 GB/s (tete has no --password-file yet)", None)
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
TOOLS=(tete)
declare -A LABEL=([tete]="tete" [tete-pw]="tete (password)" [nc]="nc (OpenBSD)" [ncat]="ncat"
    [socat]="socat" [socat-b]="socat -b 262144")

if "$TETE" --help 2>&1 | grep -q -- '--password-file'; then
    TOOLS+=(tete-pw)
else
    note "skipping tete (password): tete --help does not mention --password-file yet"
fi
if ! command -v nc >/dev/null 2>&1; then
    note "skipping nc: not installed"
elif ! nc -h 2>&1 | grep -q OpenBSD; then
    note "skipping nc: $(command -v nc) is not OpenBSD netcat"
else
    TOOLS+=(nc)
fi
if command -v ncat >/dev/null 2>&1; then TOOLS+=(ncat); else note "skipping ncat: not installed"; fi
if command -v socat >/dev/null 2>&1; then
    TOOLS+=(socat socat-b)
else
    note "skipping socat and socat -b 262144: not installed"
fi
for t in "${TOOLS[@]}"; do printf '%s\t%s\n' "$t" "${LABEL[$t]}"; done >"$W/tools.tsv"

# Sets RECV (listener that writes to stdout) and SEND (client that reads stdin) for tool $1, port $2.
tool_cmds() {
    local p=$2
    case $1 in
    tete | tete-pw)
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
    esac
}

# Interactive client (stdin -> host:port -> stdout) for the round trip.
rtt_cmd() {
    local p=$2
    case $1 in
    tete) RTT=("$TETE" 127.0.0.1 "$p") ;;
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

# transfer TOOL MODE SINK
#   MODE file: receiver writes to SINK (a path, /dev/null for timed runs), sender reads $DATA.
#   MODE pipe: cat $DATA | sender; receiver | cat >/dev/null (SINK=null) or | wc -c (SINK=count).
# Sets T_STATUS (ok, hang, fail(...), short(N)), T_WALL (s), T_CPU (user+sys both ends, s), T_RSS (KiB, max end).
transfer() {
    local tool=$1 mode=$2 sink=$3 port t0 t1 r_rc s_rc rpid spid rcat='' scat='' rt st
    port=$(free_port)
    tool_cmds "$tool" "$port"
    rm -f "$W"/r.time "$W"/s.time "$W"/count "$W"/rfifo "$W"/sfifo
    if [[ $tool == tete-pw ]]; then export TETE_PASSWORD=secret; fi

    # timeout is the watchdog (it kills its own process group: time and the tool);
    # GNU time sits right above the tool so %M is the tool's own peak RSS.
    if [[ $mode == file ]]; then
        timeout -k 2 "$TIMEOUT" "$TIME" -o "$W/r.time" -f "$TFMT" "${RECV[@]}" </dev/null >"$sink" &
        rpid=$!
    else
        mkfifo "$W/rfifo" "$W/sfifo"
        if [[ $sink == count ]]; then wc -c <"$W/rfifo" >"$W/count" & else cat <"$W/rfifo" >/dev/null & fi
        rcat=$!
        timeout -k 2 "$TIMEOUT" "$TIME" -o "$W/r.time" -f "$TFMT" "${RECV[@]}" </dev/null >"$W/rfifo" &
        rpid=$!
    fi
    LIVE_GROUPS=("$rpid")
    LIVE_PIDS=(${rcat:+"$rcat"})

    if ! wait_listen "$port" "$rpid"; then
        kill -KILL -- "-$rpid" 2>/dev/null
        wait "$rpid" 2>/dev/null
        [[ -n $rcat ]] && wait "$rcat" 2>/dev/null
        unset TETE_PASSWORD
        T_STATUS="fail(no listen)" T_WALL=0 T_CPU=0 T_RSS=0
        return
    fi

    t0=$EPOCHREALTIME
    if [[ $mode == file ]]; then
        timeout -k 2 "$TIMEOUT" "$TIME" -o "$W/s.time" -f "$TFMT" "${SEND[@]}" <"$DATA" >/dev/null &
        spid=$!
    else
        cat "$DATA" >"$W/sfifo" &
        scat=$!
        timeout -k 2 "$TIMEOUT" "$TIME" -o "$W/s.time" -f "$TFMT" "${SEND[@]}" <"$W/sfifo" >/dev/null &
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
    unset TETE_PASSWORD

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
        [[ $got == "$SIZE" ]] || T_STATUS="short($got)"
    fi
}

# ---------------------------------------------------------------- test data
echo "== ${SIZE_MB} MiB of random data in $W"
head -c "$SIZE" /dev/urandom >"$DATA" || die "cannot write $DATA"
cat "$DATA" >/dev/null

# ---------------------------------------------------------------- warm-up and correctness
echo "== warm-up: every tool once to a file (size and cmp) and once through pipes (wc -c)"
declare -A BROKEN=()
for t in "${TOOLS[@]}"; do
    transfer "$t" file "$W/recv"
    s1=$T_STATUS
    if [[ $s1 == ok ]]; then
        got=$(stat -c %s "$W/recv" 2>/dev/null || echo 0)
        if [[ $got != "$SIZE" ]]; then s1="short($got)"
        elif ! cmp -s "$DATA" "$W/recv"; then s1="corrupt"
        fi
    fi
    rm -f "$W/recv"
    transfer "$t" pipe count
    s2=$T_STATUS
    printf '  %-18s file: %-12s pipe: %s\n' "${LABEL[$t]}" "$s1" "$s2"
    if [[ $s1 != ok || $s2 != ok ]]; then
        BROKEN[$t]=$([[ $s1 != ok ]] && echo "$s1" || echo "$s2")
        note "${LABEL[$t]} failed the warm-up (${BROKEN[$t]}); its cells show that instead of timings"
    fi
done

# ---------------------------------------------------------------- timed transfers
echo "== timed transfers: $RUNS run(s), interleaved, timeout ${TIMEOUT}s per transfer"
for ((run = 1; run <= RUNS; run++)); do
    for mode in file pipe; do
        line="  run $run $mode:"
        for t in "${TOOLS[@]}"; do
            if [[ -n ${BROKEN[$t]:-} ]]; then
                T_STATUS=${BROKEN[$t]} T_WALL=0 T_CPU=0 T_RSS=0
            else
                transfer "$t" "$mode" "$([[ $mode == file ]] && echo /dev/null || echo null)"
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$mode" "$run" "$T_STATUS" "$T_WALL" "$T_CPU" "$T_RSS" >>"$RESULTS"
            if [[ $T_STATUS == ok ]]; then
                line+=$(awk -v n="${LABEL[$t]}" -v s="$SIZE" -v w="$T_WALL" 'BEGIN { printf "  %s %.2f GB/s", n, s / 1e9 / w }')
            else
                line+="  ${LABEL[$t]} $T_STATUS"
            fi
        done
        echo "$line"
    done
done

# ---------------------------------------------------------------- round trip
echo "== round trip: $RTT_N x 30-byte line through a loopback echo server, $RUNS run(s), interleaved"
"${HELPER[@]}" echo "$W/echo.port" &
ECHO_PID=$!
for ((i = 0; i < 500; i++)); do [[ -s $W/echo.port ]] && break; sleep 0.01; done
[[ -s $W/echo.port ]] || die "echo server did not start"
ECHO_PORT=$(<"$W/echo.port")
for ((run = 1; run <= RUNS; run++)); do
    line="  run $run:"
    for t in "${TOOLS[@]}"; do
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
