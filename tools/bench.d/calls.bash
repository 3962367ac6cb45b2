# shellcheck shell=bash
# tools/bench calls / calls-callgrind: SIPp uac -> proxy -> SIPp uas on
# loopback, through sipedge and then through Kamailio, same scenarios, same
# run. Sourced by tools/bench from the repository root once build-bench is
# built; everything it starts is stopped by the EXIT trap. See calls_usage.

CALLS_BD=tools/bench.d
CALLS_SIPEDGE=$PWD/build-bench/src/sipedge
CALLS_KAMAILIO=$(command -v kamailio || echo /usr/sbin/kamailio)
CALLS_KAM_MPATH=/usr/lib/x86_64-linux-gnu/kamailio/modules/
CALLS_DIR=
CALLS_PIDS=()         # every process we started ourselves (for the trap)
CALLS_PROXY=          # the proxy's root PID while one runs
CALLS_PORTS=()

calls_usage() {
	cat <<'EOF'
usage: tools/bench calls [options]            SIPp call load, sipedge vs Kamailio
       tools/bench calls-callgrind [options]  user-space instructions per call

  --rate R[,R...]       calls per second (default 2000; callgrind: 50)
  --calls N             calls per run (default 10 s worth: 10 x rate)
  --workers W[,W...]    sipedge workers = Kamailio children (default 2)
  --hold MS             time between ACK and BYE, SIPp -d (default 1000)
  --settle S            seconds the proxy stays up after the last call before
                        its CPU is read again / it is stopped (default 35: both
                        proxies keep transactions after the final response,
                        sipedge 32 s (RFC 3261 Timers J and L, 64*T1), Kamailio
                        5 s (tm wait timer); their cleanup belongs to the calls)
  --proxies LIST        among direct,sipedge,kamailio (default sipedge,kamailio;
                        direct = uac -> uas without a proxy: SIPp's own latency)
  --sipedge-yaml TEXT   lines added to sipedge's generated sipedge.yaml, e.g.
                        'timers: {t1: 100ms}' (an experiment: Kamailio is
                        left as it is)
  --shm MIB             sipedge shm_size = Kamailio -m (default 1024: Kamailio
                        needs more than 256 MiB at 2000 calls/s; neither
                        touches memory it does not use, so PSS is unaffected)
  --strace              run the proxies under strace -c -f: syscalls per call
                        (CPU and latency figures are then meaningless)
  --callgrind           same as the calls-callgrind subcommand

calls: for each workers x rate, each proxy in turn: calls ok/failed, proxy
CPU us per call (utime+stime of all its processes), peak PSS, INVITE->200
p50/p99, then one table per workers x rate with the sipedge/kamailio ratio.
calls-callgrind: 200 then 600 calls at --rate with each proxy under
valgrind --tool=callgrind; the proxy lives the same time in both runs;
instructions per call = (I600 - I200) / 400 (deterministic, unlike time).
EOF
}

calls_say() { printf '[bench] %s\n' "$*" >&2; }

calls_die() {
	calls_say "error: $*"
	exit 1
}

# -- processes ---------------------------------------------------------------

# state letter of PID, empty when gone (a zombie child of ours reads Z)
calls_state() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	printf '%s' "${s%% *}"
}

calls_alive() {
	local st
	st=$(calls_state "$1")
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# PID and all its descendants, one per line
calls_tree() {
	local c
	[ -d "/proc/$1" ] || return 0
	echo "$1"
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		calls_tree "$c"
	done
}

# "pid ticks user sys ctxsw" for the tree of $1: CPU clock ticks from
# /proc/PID/stat, utime+stime+cutime+cstime (fields 14-17; cutime/cstime
# hold reaped children only), then user, system, and the context switches
# (voluntary + involuntary) of all the process's threads
calls_cpu() {
	local p s rest k v cs f
	for p in $(calls_tree "$1"); do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		rest=${s##*) }
		cs=0
		for f in /proc/"$p"/task/*/status; do
			{ while read -r k v; do
				case $k in voluntary_ctxt_switches: | nonvoluntary_ctxt_switches:) cs=$((cs + v)) ;; esac
			done <"$f"; } 2>/dev/null
		done
		# shellcheck disable=SC2086
		set -- $rest
		echo "$p $((${12} + ${13} + ${14} + ${15})) $((${12} + ${14})) $((${13} + ${15})) $cs"
	done
}

calls_cpu_total() { awk -v c="${2:-2}" '{ t += $c } END { print t + 0 }' "$1"; }

# PSS (KiB) summed over the tree of $1
calls_pss() {
	local p k v sum=0
	for p in $(calls_tree "$1"); do
		{ while read -r k v _; do
			[ "$k" = Pss: ] && sum=$((sum + v))
		done <"/proc/$p/smaps_rollup"; } 2>/dev/null
	done
	echo "$sum"
}

# every 0.5 s until STOPFILE appears, at most MAX samples: "time pss_kib"
calls_pss_sampler() {
	local root=$1 out=$2 stop=$3 max=$4 i=0
	while [ "$i" -lt "$max" ] && [ ! -e "$stop" ] && calls_alive "$root"; do
		echo "$EPOCHREALTIME $(calls_pss "$root")" >>"$out"
		sleep 0.5
		i=$((i + 1))
	done
}

# TERM to PID (or to $3, its traced child under strace), wait up to $2 s
# (default 90) for PID to end, then KILL its tree
calls_stop() {
	local pid=$1 secs=${2:-90} sig=${3:-$1} i=0 p
	[ -n "$pid" ] || return 0
	if calls_alive "$pid"; then
		kill -TERM "$sig" 2>/dev/null || true
		while calls_alive "$pid" && [ "$i" -lt $((secs * 5)) ]; do
			sleep 0.2
			i=$((i + 1))
		done
		if calls_alive "$pid"; then
			calls_say "PID $pid still running after ${secs}s: SIGKILL to it and its children"
			for p in $(calls_tree "$pid"); do kill -KILL "$p" 2>/dev/null || true; done
		fi
	fi
	wait "$pid" 2>/dev/null || true
}

# true if PID is still a running child of this shell (so never a reused PID)
calls_mine() {
	local s
	calls_alive "$1" || return 1
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	[ "$2" = "$$" ]
}

calls_cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${CALLS_PIDS[@]}"; do
		if calls_mine "$p"; then calls_stop "$p" 30; fi
	done
	if [ -n "$CALLS_DIR" ]; then calls_say "logs: $CALLS_DIR"; fi
}

# -- ports -------------------------------------------------------------------

# $1 blocks of 8 free UDP ports (20000-31999, below the ephemeral range):
# CALLS_PORTS=(first port of each block)
calls_pick_ports() {
	local n=$1 used=" " f l hex p i ok tries=0
	for f in /proc/net/udp /proc/net/udp6; do
		[ -r "$f" ] || continue
		while read -r _ l _; do
			hex=${l##*:}
			[[ $hex =~ ^[0-9A-F]{4}$ ]] && used+="$((16#$hex)) "
		done <"$f"
	done
	CALLS_PORTS=()
	while [ "${#CALLS_PORTS[@]}" -lt "$n" ]; do
		tries=$((tries + 1))
		[ "$tries" -le 2000 ] || calls_die "no free UDP ports found"
		p=$((20000 + (RANDOM % 1500) * 8))
		ok=1
		for i in 0 1 2 3 4 5 6 7; do
			case $used in *" $((p + i)) "*) ok=0 ;; esac
		done
		[ "$ok" = 1 ] || continue
		for i in 0 1 2 3 4 5 6 7; do used+="$((p + i)) "; done
		CALLS_PORTS+=("$p")
	done
}

# -- readiness ---------------------------------------------------------------

# an OPTIONS with Max-Forwards: 0 to 127.0.0.1:$1; true if any SIP
# response comes back within 1 s (both proxies answer 483 themselves).
# The datagram is written by cat in one write (bash's printf writes lines).
calls_probe() {
	local fd c rc=1 f=$2/probe.sip
	printf 'OPTIONS sip:probe@127.0.0.1:%s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKbench%s;rport\r\nMax-Forwards: 0\r\nFrom: <sip:bench@127.0.0.1>;tag=b%s\r\nTo: <sip:probe@127.0.0.1>\r\nCall-ID: probe%s@bench\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' \
		"$1" "$RANDOM$RANDOM" "$RANDOM" "$RANDOM$RANDOM" >"$f"
	exec {fd}<>"/dev/udp/127.0.0.1/$1" || return 1
	cat "$f" 1>&"$fd" &&
		IFS= read -r -t 1 -N 1 c <&"$fd" && [ "$c" = S ] && rc=0
	exec {fd}>&-
	return "$rc"
}

# wait (at most $4 s) until the proxy PID $1 of kind $2 on port $3 answers
calls_wait_ready() {
	local pid=$1 kind=$2 port=$3 secs=$4 d=$5 t0=$SECONDS
	while [ $((SECONDS - t0)) -lt "$secs" ]; do
		calls_alive "$pid" || { tail -n 20 "$d/proxy.log" >&2; return 1; }
		if [ "$kind" != sipedge ] || grep -q ready "$d/proxy.log" 2>/dev/null; then
			calls_probe "$port" "$d" 2>/dev/null && return 0
		fi
		sleep 0.3
	done
	calls_say "$kind not ready after ${secs}s"
	tail -n 20 "$d/proxy.log" >&2
	return 1
}

# -- the proxies ---------------------------------------------------------------

# calls_start_proxy KIND WORKERS PORT UAS_PORT DIR [WRAPPER...]: CALLS_PROXY
calls_start_proxy() {
	local kind=$1 w=$2 port=$3 uas=$4 d=$5
	shift 5
	mkdir -p "$d"
	case $kind in
	sipedge)
		cat >"$d/sipedge.yaml" <<EOF
listen: [udp://127.0.0.1:$port]
workers: $w
policy: policy.yaml
control: sipedge.sock
shm_size: ${CALLS_SHM}MiB
log_level: info
${CALLS_SE_YAML}
EOF
		cat >"$d/policy.yaml" <<EOF
pools:
  uas:
    destinations:
      - uri: sip:127.0.0.1:$uas
rules:
  - name: default
    route: uas
EOF
		"$@" "$CALLS_SIPEDGE" -c "$d/sipedge.yaml" </dev/null >"$d/proxy.log" 2>&1 &
		;;
	kamailio)
		mkdir -p "$d/run"
		sed -e "s|@CHILDREN@|$w|" -e "s|@PORT@|$port|" -e "s|@UAS_PORT@|$uas|" \
			-e "s|@MPATH@|$CALLS_KAM_MPATH|" "$CALLS_BD/kamailio.cfg" >"$d/kamailio.cfg"
		"$@" "$CALLS_KAMAILIO" -f "$d/kamailio.cfg" -DD -E -x tlsf -m "$CALLS_SHM" -M 8 \
			-Y "$d/run" </dev/null >"$d/proxy.log" 2>&1 &
		;;
	*) calls_die "unknown proxy $kind" ;;
	esac
	CALLS_PROXY=$!
	CALLS_PIDS+=("$CALLS_PROXY")
	echo "$CALLS_PROXY" >"$d/proxy.pid"
}

calls_uas_start() { # PORT DIR TIMEOUT_S: CALLS_UAS
	sipp -sf "$CALLS_BD/uas.xml" -i 127.0.0.1 -p "$1" -cp $(($1 + 1)) -mp $(($1 + 4)) \
		-nostdin -buff_size 4194304 -timeout "$3" \
		-trace_stat -stf "$2/uas_stat.csv" -fd 1 -trace_err -error_file "$2/uas_errors.log" \
		</dev/null >/dev/null 2>"$2/uas.stderr" &
	CALLS_UAS=$!
	CALLS_PIDS+=("$CALLS_UAS")
}

# value of column $2 in the last line of SIPp's -trace_stat CSV $1
calls_stat() {
	[ -s "$1" ] || { echo ""; return 0; }
	awk -F';' -v f="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == f) c = i }
		{ last = $0 } END { n = split(last, a, ";"); print (c ? a[c] : "") }' "$1"
}

# the uac: CALLS runs at RATE to PORT (the proxy, or the uas when direct);
# its output files in DIR. Returns SIPp's status.
calls_uac() { # DEST_PORT UAC_PORT CALLS RATE DIR
	local dest=$1 p=$2 n=$3 r=$4 d=$5 limit bound
	limit=$((r * (CALLS_HOLD / 1000 + 3)))
	[ "$limit" -le 15000 ] || limit=15000 # SIPp wants it below its open files
	bound=$((n / r + CALLS_HOLD / 1000 + 120))
	timeout "$bound" sipp "127.0.0.1:$dest" -sf "$CALLS_BD/uac.xml" -i 127.0.0.1 -p "$p" \
		-cp $((p + 1)) -mp $((p + 4)) -s bench -m "$n" -r "$r" -rp 1000 -l "$limit" \
		-d "$CALLS_HOLD" -nostdin -buff_size 4194304 -recv_timeout 20000 \
		-trace_stat -stf "$d/uac_stat.csv" -fd 1 -trace_err -error_file "$d/uac_errors.log" \
		-trace_logs -log_file "$d/uac_rtt.log" -trace_screen -screen_file "$d/uac_screen.log" \
		</dev/null >/dev/null 2>"$d/uac.stderr" &
	local pid=$!
	CALLS_PIDS+=("$pid")
	wait "$pid"
}

# latency from the uac's "rtt S US S US" lines: sets LAT_N LAT_P50 LAT_P99
# (ms) and the INVITE send rate achieved, RATE_OK (calls/s)
calls_latency() {
	local f=$1 out
	out=$(awk '$1 == "rtt" { us = ($4 - $2) * 1000000 + ($5 - $3); printf "%d %.6f\n", us, $2 + $3 / 1e6 }' "$f" 2>/dev/null |
		sort -n | awk '{ v[NR] = $1; t = $2; if (NR == 1 || t < lo) lo = t; if (NR == 1 || t > hi) hi = t }
		END {
			if (NR == 0) { print "0 - - -"; exit }
			i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++
			i99 = int(NR * 0.99); if (i99 < NR * 0.99) i99++
			rate = (hi > lo) ? (NR - 1) / (hi - lo) : 0
			printf "%d %.3f %.3f %.0f\n", NR, v[i50] / 1000, v[i99] / 1000, rate
		}')
	read -r LAT_N LAT_P50 LAT_P99 RATE_OK <<<"$out"
}

# one run of one proxy: results as "key value" lines in DIR/result
calls_run() { # KIND WORKERS RATE CALLS DIR
	local kind=$1 w=$2 r=$3 n=$4 d=$5 pport uport cport wrap=() st=0 key
	local pss0 wall0 wall1 dest
	mkdir -p "$d"
	calls_pick_ports 3
	pport=${CALLS_PORTS[0]} uport=${CALLS_PORTS[1]} cport=${CALLS_PORTS[2]}
	calls_say "$kind: $n calls at $r/s, $w worker(s), hold ${CALLS_HOLD} ms (proxy :$pport, uas :$uport, uac :$cport)"
	if [ "$kind" != direct ]; then
		[ "$CALLS_STRACE" = 1 ] && wrap=(strace -f -c -o "$d/strace.txt")
		calls_start_proxy "$kind" "$w" "$pport" "$uport" "$d" "${wrap[@]}"
		calls_wait_ready "$CALLS_PROXY" "$kind" "$pport" 60 "$d" || calls_die "$kind did not start (see $d/proxy.log)"
		dest=$pport
	else
		dest=$uport
	fi
	calls_uas_start "$uport" "$d" $((n / r + CALLS_HOLD / 1000 + CALLS_SETTLE + 300))
	sleep 0.5
	calls_alive "$CALLS_UAS" || calls_die "the uas SIPp did not start (see $d/uas.stderr)"

	if [ "$kind" != direct ]; then
		calls_cpu "$CALLS_PROXY" >"$d/cpu0"
		pss0=$(calls_pss "$CALLS_PROXY")
		rm -f "$d/pss.stop"
		calls_pss_sampler "$CALLS_PROXY" "$d/pss.log" "$d/pss.stop" \
			$(((n / r + CALLS_HOLD / 1000 + CALLS_SETTLE + 200) * 2)) &
		CALLS_PIDS+=("$!")
		local sampler=$!
	fi
	wall0=$EPOCHREALTIME
	calls_uac "$dest" "$cport" "$n" "$r" "$d" || st=$?
	wall1=$EPOCHREALTIME
	if [ "$kind" != direct ]; then
		calls_cpu "$CALLS_PROXY" >"$d/cpu1"
		if [ "$CALLS_SETTLE" -gt 0 ]; then
			calls_say "$kind: settling ${CALLS_SETTLE}s (transactions end)"
			sleep "$CALLS_SETTLE"
		fi
		calls_cpu "$CALLS_PROXY" >"$d/cpu2"
		touch "$d/pss.stop"
		wait "$sampler" 2>/dev/null || true
	fi
	calls_stop "$CALLS_UAS" 10
	if [ "$kind" != direct ]; then
		# under strace, signal the proxy itself: strace writes its summary
		# when its tracees have ended
		local sig=$CALLS_PROXY
		[ "$CALLS_STRACE" = 1 ] && sig=$(calls_tree "$CALLS_PROXY" | sed -n 2p)
		calls_stop "$CALLS_PROXY" 90 "${sig:-$CALLS_PROXY}"
		CALLS_PROXY=
	fi

	local ok fail retr
	ok=$(calls_stat "$d/uac_stat.csv" 'SuccessfulCall(C)')
	fail=$(calls_stat "$d/uac_stat.csv" 'FailedCall(C)')
	retr=$(calls_stat "$d/uac_stat.csv" 'Retransmissions(C)')
	calls_latency "$d/uac_rtt.log"
	{
		echo "kind $kind"
		echo "workers $w"
		echo "rate $r"
		echo "calls $n"
		echo "sipp_status $st"
		echo "ok ${ok:-0}"
		echo "failed ${fail:-0}"
		echo "retrans ${retr:-0}"
		echo "uas_failed $(calls_stat "$d/uas_stat.csv" 'FailedCall(C)')"
		echo "rate_ok $RATE_OK"
		echo "rtt_samples $LAT_N"
		echo "p50_ms $LAT_P50"
		echo "p99_ms $LAT_P99"
		echo "wall_s $(awk -v a="$wall0" -v b="$wall1" 'BEGIN { printf "%.2f", b - a }')"
	} >"$d/result"
	if [ "$kind" != direct ]; then
		local hz t0 t1 t2 ok1 pssmax
		hz=$(getconf CLK_TCK)
		t0=$(calls_cpu_total "$d/cpu0")
		t1=$(calls_cpu_total "$d/cpu1")
		t2=$(calls_cpu_total "$d/cpu2")
		ok1=${ok:-0}
		[ "$ok1" -gt 0 ] 2>/dev/null || ok1=1
		pssmax=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$d/pss.log" 2>/dev/null)
		{
			echo "cpu_run_us $(((t1 - t0) * 1000000 / hz / ok1))"
			echo "cpu_all_us $(((t2 - t0) * 1000000 / hz / ok1))"
			echo "user_all_us $((($(calls_cpu_total "$d/cpu2" 3) - $(calls_cpu_total "$d/cpu0" 3)) * 1000000 / hz / ok1))"
			echo "sys_all_us $((($(calls_cpu_total "$d/cpu2" 4) - $(calls_cpu_total "$d/cpu0" 4)) * 1000000 / hz / ok1))"
			echo "cs_per_call $(awk -v a="$(calls_cpu_total "$d/cpu0" 5)" -v b="$(calls_cpu_total "$d/cpu1" 5)" \
				-v ok="$ok1" 'BEGIN { printf "%.2f", (b - a) / ok }')"
			echo "cpu_load $(awk -v t=$((t1 - t0)) -v hz="$hz" -v a="$wall0" -v b="$wall1" \
				'BEGIN { printf "%.2f", t / hz / (b - a) }')"
			echo "pss_idle_mib $(awk -v k="$pss0" 'BEGIN { printf "%.1f", k / 1024 }')"
			echo "pss_peak_mib $(awk -v k="${pssmax:-0}" 'BEGIN { printf "%.1f", k / 1024 }')"
			echo "nproc $(wc -l <"$d/cpu0")"
			# per process CPU during the run and the settle time, seconds
			echo "split $(join <(sort "$d/cpu0") <(sort "$d/cpu2") |
				awk -v hz="$hz" '{ printf "%s%s:%.2f", (NR > 1 ? " " : ""), $1, ($6 - $2) / hz }')"
		} >>"$d/result"
		if [ -s "$d/strace.txt" ]; then
			# the total line: % time, seconds, usecs/call, calls, [errors,] total
			echo "syscalls_per_call $(awk -v ok="$ok1" '$NF == "total" { printf "%.1f", $4 / ok }' "$d/strace.txt")" >>"$d/result"
		fi
	fi
	key=$(awk '$1 == "ok" || $1 == "failed" || $1 == "p50_ms" || $1 == "cpu_all_us" { printf "%s=%s ", $1, $2 }' "$d/result")
	calls_say "$kind: $key(sipp exit $st)"
	if [ "$st" != 0 ] && [ -s "$d/uac_errors.log" ]; then
		calls_say "$kind: first SIPp errors ($d/uac_errors.log):"
		head -n 4 "$d/uac_errors.log" | cut -c1-200 >&2
	fi
}

calls_get() { awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$1/result" 2>/dev/null; }

# one table for one workers x rate: rows are figures, columns the proxies
calls_table() { # DIR (holding one subdirectory per proxy)
	local d=$1 k first
	local -a kinds=()
	for k in direct sipedge kamailio; do
		[ -f "$d/$k/result" ] && kinds+=("$k")
	done
	[ "${#kinds[@]}" -gt 0 ] || return 0
	first=${kinds[0]}
	printf '\n%s calls at %s/s, hold %s ms, %s worker(s) / children\n' \
		"$(calls_get "$d/$first" calls)" "$(calls_get "$d/$first" rate)" "$CALLS_HOLD" \
		"$(calls_get "$d/$first" workers)"
	{
		printf 'figure'
		for k in "${kinds[@]}"; do printf '\t%s' "$k"; done
		[ -f "$d/sipedge/result" ] && [ -f "$d/kamailio/result" ] && printf '\tsipedge/kamailio'
		printf '\n'
		local row label key
		for row in "calls ok:ok" "calls failed:failed" "uac retransmissions:retrans" \
			"INVITE rate achieved (/s):rate_ok" \
			"proxy CPU us/call, run:cpu_run_us" "proxy CPU us/call, run+settle:cpu_all_us" \
			"  of which user:user_all_us" "  of which system:sys_all_us" \
			"context switches/call, run:cs_per_call" \
			"proxy CPU cores busy, run:cpu_load" "proxy processes:nproc" \
			"PSS idle (MiB):pss_idle_mib" "PSS peak (MiB):pss_peak_mib" \
			"INVITE->200 p50 (ms):p50_ms" "INVITE->200 p99 (ms):p99_ms" \
			"syscalls/call (strace):syscalls_per_call"; do
			label=${row%%:*} key=${row##*:}
			local any=0 vals=() v
			for k in "${kinds[@]}"; do
				v=$(calls_get "$d/$k" "$key")
				[ -n "$v" ] && any=1
				vals+=("${v:--}")
			done
			[ "$any" = 1 ] || continue
			printf '%s' "$label"
			for v in "${vals[@]}"; do printf '\t%s' "$v"; done
			if [ -f "$d/sipedge/result" ] && [ -f "$d/kamailio/result" ]; then
				awk -v a="$(calls_get "$d/sipedge" "$key")" -v b="$(calls_get "$d/kamailio" "$key")" \
					'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) printf "\t%.2f", a / b; else printf "\t-" }'
			fi
			printf '\n'
		done
	} | column -t -s $'\t'
	for k in sipedge kamailio; do
		[ -f "$d/$k/result" ] || continue
		printf '%s CPU seconds per process (pid:s, run+settle): %s\n' "$k" "$(calls_get "$d/$k" split)"
	done
}

calls_parse_args() {
	CALLS_RATES='' CALLS_N='' CALLS_WORKERS=2 CALLS_HOLD=1000 CALLS_SETTLE=35
	CALLS_PROXIES=sipedge,kamailio CALLS_SHM=1024 CALLS_STRACE=0 CALLS_CG=0 CALLS_SE_YAML=
	while [ $# -gt 0 ]; do
		case $1 in
		--rate) CALLS_RATES=$2; shift ;;
		--calls) CALLS_N=$2; shift ;;
		--workers) CALLS_WORKERS=$2; shift ;;
		--hold) CALLS_HOLD=$2; shift ;;
		--settle) CALLS_SETTLE=$2; shift ;;
		--proxies) CALLS_PROXIES=$2; shift ;;
		--shm) CALLS_SHM=$2; shift ;;
		--sipedge-yaml) CALLS_SE_YAML=$2; shift ;;
		--strace) CALLS_STRACE=1 ;;
		--callgrind) CALLS_CG=1 ;;
		-h | --help) calls_usage; exit 0 ;;
		*) calls_usage >&2; exit 2 ;;
		esac
		shift || { calls_usage >&2; exit 2; }
	done
	local v
	for v in ${CALLS_RATES//,/ } ${CALLS_WORKERS//,/ } $CALLS_HOLD $CALLS_SETTLE $CALLS_SHM ${CALLS_N:-1}; do
		[[ $v =~ ^[0-9]+$ ]] || calls_die "not a number: $v"
	done
	for v in ${CALLS_PROXIES//,/ }; do
		case $v in direct | sipedge | kamailio) ;; *) calls_die "unknown proxy: $v" ;; esac
	done
	command -v sipp >/dev/null || calls_die "sipp missing (tools/deps bench)"
	[ -x "$CALLS_KAMAILIO" ] || calls_die "kamailio missing (tools/deps bench)"
	[ "$CALLS_STRACE" = 0 ] || command -v strace >/dev/null || calls_die "strace missing: apt-get install strace"
	[ -x "$CALLS_SIPEDGE" ] || calls_die "$CALLS_SIPEDGE not built"
}

calls_main() {
	calls_parse_args "$@"
	[ "$CALLS_CG" = 1 ] && { calls_cg_main; return; }
	: "${CALLS_RATES:=2000}"
	CALLS_DIR=$(mktemp -d /tmp/sipedge-bench-calls.XXXXXX)
	trap calls_cleanup EXIT
	trap 'exit 130' INT TERM
	local w r n k d
	for w in ${CALLS_WORKERS//,/ }; do
		for r in ${CALLS_RATES//,/ }; do
			n=${CALLS_N:-$((r * 10))}
			d=$CALLS_DIR/r$r-w$w
			for k in ${CALLS_PROXIES//,/ }; do
				calls_run "$k" "$w" "$r" "$n" "$d/$k"
			done
			calls_table "$d" >"$d/table.txt"
			cat "$d/table.txt" >&2
		done
	done
	printf '\n== summary (logs in %s) ==\n' "$CALLS_DIR"
	cat "$CALLS_DIR"/r*-w*/table.txt
	cat <<'EOF'

CPU: utime+stime (+cutime+cstime) of the proxy and all its processes from
/proc/PID/stat, read before the first call, after the last and after the
settle time, divided by the successful calls. PSS: /proc/PID/smaps_rollup
summed over the processes every 0.5 s (idle = before the first call).
Memory: sipedge keeps a transaction 32 s after its final response (RFC 3261
Timers J and L, 64*T1), Kamailio 5 s (tm wait timer), so in a run shorter
than ~35 s sipedge's PSS has not reached its plateau (Kamailio's has): use
--calls 90000 at 2000/s to compare steady states.
Latency: per call, SIPp's time of day just before it sends the INVITE to
when it has the 200 (the SIPps and the proxy share the CPUs: SIPp's own
scheduling is part of it; compare with --proxies direct,...).
EOF
}

# -- callgrind -----------------------------------------------------------------

calls_cg_run() { # KIND WORKERS RATE CALLS LIFETIME_S DIR: I (sum of Collected)
	local kind=$1 w=$2 r=$3 n=$4 life=$5 d=$6 pport uport cport st=0 t0 left
	mkdir -p "$d"
	calls_pick_ports 3
	pport=${CALLS_PORTS[0]} uport=${CALLS_PORTS[1]} cport=${CALLS_PORTS[2]}
	calls_say "$kind under callgrind: $n calls at $r/s, $w worker(s), up ${life}s after ready"
	calls_start_proxy "$kind" "$w" "$pport" "$uport" "$d" \
		valgrind --tool=callgrind --trace-children=yes \
		--callgrind-out-file="$d/callgrind.out.%p" --log-file="$d/valgrind.%p.log"
	calls_wait_ready "$CALLS_PROXY" "$kind" "$pport" 180 "$d" || calls_die "$kind did not start under valgrind"
	t0=$SECONDS
	calls_uas_start "$uport" "$d" $((life + 300))
	sleep 0.5
	calls_uac "$pport" "$cport" "$n" "$r" "$d" || st=$?
	left=$((life - (SECONDS - t0)))
	[ "$left" -gt 0 ] && sleep "$left"
	calls_stop "$CALLS_UAS" 10
	calls_stop "$CALLS_PROXY" 180
	CALLS_PROXY=
	local ok fail retr total nf
	ok=$(calls_stat "$d/uac_stat.csv" 'SuccessfulCall(C)')
	fail=$(calls_stat "$d/uac_stat.csv" 'FailedCall(C)')
	retr=$(calls_stat "$d/uac_stat.csv" 'Retransmissions(C)')
	total=$(cat "$d"/valgrind.*.log 2>/dev/null | awk '/Collected :/ { s += $NF } END { printf "%.0f", s }')
	nf=$(grep -l 'Collected :' "$d"/valgrind.*.log 2>/dev/null | wc -l)
	{
		echo "kind $kind"
		echo "calls $n"
		echo "sipp_status $st"
		echo "ok ${ok:-0}"
		echo "failed ${fail:-0}"
		echo "retrans ${retr:-0}"
		echo "instructions $total"
		echo "processes $nf"
		echo "lifetime_s $((SECONDS - t0))"
	} >"$d/result"
	calls_say "$kind: $n calls: ok=${ok:-0} failed=${fail:-0} retrans=${retr:-0} Ir=$total over $nf processes"
}

calls_cg_main() {
	: "${CALLS_RATES:=50}"
	local r=${CALLS_RATES%%,*} w k life d a b
	CALLS_DIR=$(mktemp -d /tmp/sipedge-bench-callgrind.XXXXXX)
	trap calls_cleanup EXIT
	trap 'exit 130' INT TERM
	command -v valgrind >/dev/null || calls_die "valgrind missing (tools/deps bench)"
	# the same lifetime for the 200- and the 600-call run, so that idle work
	# (timer ticks) cancels out of I600 - I200
	life=$((600 / r + CALLS_HOLD / 1000 + CALLS_SETTLE + 5))
	for w in ${CALLS_WORKERS//,/ }; do
		for k in ${CALLS_PROXIES//,/ }; do
			[ "$k" = direct ] && continue
			for n in 200 600; do
				calls_cg_run "$k" "$w" "$r" "$n" "$life" "$CALLS_DIR/w$w/$k/n$n"
			done
		done
	done
	{
		printf '\n== user-space instructions per call, callgrind, %s calls/s, hold %s ms (logs in %s) ==\n' \
			"$r" "$CALLS_HOLD" "$CALLS_DIR"
		for w in ${CALLS_WORKERS//,/ }; do
			printf '\n%s worker(s) / children; each run %s s from ready to stop\n' "$w" "$life"
			{
				printf 'figure\tsipedge\tkamailio\tsipedge/kamailio\n'
				local row label key
				for row in "I200 (all processes):instructions:200" "I600 (all processes):instructions:600" \
					"calls ok 200-run:ok:200" "calls ok 600-run:ok:600" \
					"calls failed 200/600:failed:both" "retransmissions 200/600:retrans:both" \
					"processes:processes:600"; do
					label=${row%%:*} key=${row#*:} key=${key%%:*}
					local which=${row##*:} out=()
					for k in sipedge kamailio; do
						d=$CALLS_DIR/w$w/$k
						if [ "$which" = both ]; then
							out+=("$(calls_get "$d/n200" "$key")/$(calls_get "$d/n600" "$key")")
						else
							out+=("$(calls_get "$d/n$which" "$key")")
						fi
					done
					printf '%s\t%s\t%s\t-\n' "$label" "${out[0]:--}" "${out[1]:--}"
				done
				local ipc=()
				for k in sipedge kamailio; do
					d=$CALLS_DIR/w$w/$k
					a=$(calls_get "$d/n200" instructions)
					b=$(calls_get "$d/n600" instructions)
					if [ -n "$a" ] && [ -n "$b" ]; then ipc+=($(((b - a) / 400))); else ipc+=(-); fi
				done
				printf 'instructions/call (I600-I200)/400\t%s\t%s\t%s\n' "${ipc[0]}" "${ipc[1]}" \
					"$(awk -v a="${ipc[0]}" -v b="${ipc[1]}" 'BEGIN { if (a ~ /^[0-9]+$/ && b + 0 > 0) printf "%.2f", a / b; else print "-" }')"
			} | column -t -s $'\t'
		done
	} | tee "$CALLS_DIR/table.txt"
}
