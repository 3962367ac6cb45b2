/*
 * udp_sockets_spread: the program that picks, for each datagram, the
 * socket of the reuseport group (so the worker slot) that receives it.
 *
 * Two programs, both indifferent to who sent the datagram, so no peer is
 * pinned to a worker (see udp_sockets.c):
 *
 * - bursts (eBPF, SO_ATTACH_REUSEPORT_EBPF): each CPU that delivers
 *   datagrams keeps its current socket for up to SPREAD_BURST_NS or
 *   SPREAD_BURST_DGRAMS datagrams, whichever ends first, then draws a new
 *   one at random. Why: a wake-up costs more than handling a datagram on
 *   virtual machines, and peers send in bursts (a batch of sendmmsg, a
 *   180 and a 200 back to back, a SIPp round). Drawn per datagram, a
 *   burst of k datagrams wakes up to k workers; kept together it wakes
 *   one, which reads them with one recvmmsg. At 2000 calls/s through two
 *   workers (tools/bench calls) this cut the wake-ups from 2.35 to 1.97
 *   per call and the CPU per call by a fifth (drawing once per
 *   millisecond for all CPUs, without the datagram bound, gave 1.3, but
 *   would queue a whole millisecond on one worker at high load). The
 *   datagram bound keeps what lands on a busy worker while another
 *   sleeps to a short queue when the load is high; the time bound
 *   spreads a trickle evenly.
 *   Loading an eBPF program needs CAP_BPF (or root) where unprivileged BPF
 *   is disabled, as Debian does by default.
 * - random (classic BPF, SO_ATTACH_REUSEPORT_CBPF): A = random() % k per
 *   datagram. Needs no privilege; the fallback.
 *
 * Both map the drawn number through idx[] when the master narrows the
 * group to the slots not given up: a chain of compares, as neither
 * instruction set has an indexed load from a constant table, and k is
 * small (a slot each).
 *
 * The eBPF program, with r6 the CPU's state {until_ns u64, idx u32,
 * left u32} (a per-CPU array of one entry) and r7 the time:
 *
 *     state = lookup(map, 0); if !state: draw and return
 *     now = ktime_get_ns()
 *     if now < state.until && state.left > 0: state.left--; return state.idx
 *     r = idx[prandom() % k]
 *     state = {now + SPREAD_BURST_NS, r, SPREAD_BURST_DGRAMS - 1}; return r
 */
#include "udp_sockets.h"

#include <errno.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPREAD_BURST_NS     1000000 /* 1 ms */
#define SPREAD_BURST_DGRAMS 8

/* -- classic BPF: random per datagram ------------------------------------- */

static int spread_random(int fd, const uint32_t *idx, uint32_t k)
{
	struct sock_filter code[3 + 2 * UDP_SOCKETS_MAX];
	unsigned len = 0;

	code[len++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                                           (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM));
	code[len++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, k);
	if (idx == NULL) {
		code[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0);
	} else {
		for (uint32_t j = 0; j < k; j++) {
			code[len++] =
			    (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, j, 0, 1);
			code[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, idx[j]);
		}
		code[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, idx[0]);
	}
	struct sock_fprog prog = {.len = (unsigned short)len, .filter = code};

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) != 0)
		return -errno;
	return 0;
}

/* -- eBPF: bursts per CPU --------------------------------------------------- */

#define INSN(c, d, s, o, i)                                                                      \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define MOV_IMM(d, i)      INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV_REG(d, s)      INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ADD_IMM(d, i)      INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define MOD32_IMM(d, i)    INSN(BPF_ALU | BPF_MOD | BPF_K, d, 0, 0, i)
#define LDX(sz, d, s, o)   INSN(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define STX(sz, d, s, o)   INSN(BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define ST_IMM(sz, d, o, i) INSN(BPF_ST | BPF_MEM | (sz), d, 0, o, i)
#define JMP_IMM(op, d, i, o) INSN(BPF_JMP | (op) | BPF_K, d, 0, o, i)
#define JMP_REG(op, d, s, o) INSN(BPF_JMP | (op) | BPF_X, d, s, o, 0)
#define CALL(f)            INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()             INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* the per-CPU state's layout (the map's value) */
#define ST_UNTIL 0
#define ST_IDX   8
#define ST_LEFT  12
#define ST_SIZE  16

static long spread_bpf(int cmd, union bpf_attr *a)
{
	return syscall(SYS_bpf, cmd, a, sizeof(*a));
}

/* Write the program for map mfd into p; its length. */
static uint32_t spread_bursts_code(struct bpf_insn *p, int mfd, const uint32_t *idx, uint32_t k)
{
	uint32_t n = 0;
	p[n++] = ST_IMM(BPF_W, BPF_REG_10, -4, 0); /* key 0 on the stack */
	p[n++] = MOV_REG(BPF_REG_2, BPF_REG_10);
	p[n++] = ADD_IMM(BPF_REG_2, -4);
	p[n++] = INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, mfd);
	p[n++] = INSN(0, 0, 0, 0, 0); /* second half of the 64-bit load */
	p[n++] = CALL(BPF_FUNC_map_lookup_elem);
	p[n++] = MOV_REG(BPF_REG_6, BPF_REG_0);
	uint32_t nostate = n;
	p[n++] = JMP_IMM(BPF_JEQ, BPF_REG_6, 0, 0); /* to draw: patched below */
	p[n++] = CALL(BPF_FUNC_ktime_get_ns);
	p[n++] = MOV_REG(BPF_REG_7, BPF_REG_0);
	p[n++] = LDX(BPF_DW, BPF_REG_1, BPF_REG_6, ST_UNTIL);
	uint32_t expired = n;
	p[n++] = JMP_REG(BPF_JGE, BPF_REG_7, BPF_REG_1, 0); /* to draw */
	p[n++] = LDX(BPF_W, BPF_REG_2, BPF_REG_6, ST_LEFT);
	uint32_t spent = n;
	p[n++] = JMP_IMM(BPF_JEQ, BPF_REG_2, 0, 0); /* to draw */
	p[n++] = ADD_IMM(BPF_REG_2, -1);
	p[n++] = STX(BPF_W, BPF_REG_6, BPF_REG_2, ST_LEFT);
	p[n++] = LDX(BPF_W, BPF_REG_0, BPF_REG_6, ST_IDX);
	p[n++] = EXIT();
	uint32_t draw = n;
	p[nostate].off = (int16_t)(draw - nostate - 1);
	p[expired].off = (int16_t)(draw - expired - 1);
	p[spent].off = (int16_t)(draw - spent - 1);
	p[n++] = CALL(BPF_FUNC_get_prandom_u32);
	p[n++] = MOD32_IMM(BPF_REG_0, (int32_t)k);
	if (idx) {
		p[n++] = MOV_REG(BPF_REG_1, BPF_REG_0);
		p[n++] = MOV_IMM(BPF_REG_0, (int32_t)idx[0]);
		for (uint32_t j = 1; j < k; j++) {
			p[n++] = JMP_IMM(BPF_JNE, BPF_REG_1, (int32_t)j, 1);
			p[n++] = MOV_IMM(BPF_REG_0, (int32_t)idx[j]);
		}
	}
	/* no state (cannot happen with an array map; the verifier asks) */
	p[n++] = JMP_IMM(BPF_JNE, BPF_REG_6, 0, 1);
	p[n++] = EXIT();
	p[n++] = STX(BPF_W, BPF_REG_6, BPF_REG_0, ST_IDX);
	p[n++] = MOV_REG(BPF_REG_1, BPF_REG_7);
	p[n++] = ADD_IMM(BPF_REG_1, SPREAD_BURST_NS);
	p[n++] = STX(BPF_DW, BPF_REG_6, BPF_REG_1, ST_UNTIL);
	p[n++] = ST_IMM(BPF_W, BPF_REG_6, ST_LEFT, SPREAD_BURST_DGRAMS - 1);
	p[n++] = EXIT();
	return n;
}

static int spread_bursts(int fd, const uint32_t *idx, uint32_t k)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_PERCPU_ARRAY;
	a.key_size = 4;
	a.value_size = ST_SIZE;
	a.max_entries = 1;
	int mfd = (int)spread_bpf(BPF_MAP_CREATE, &a);
	if (mfd < 0)
		return -errno;

	struct bpf_insn code[32 + 2 * UDP_SOCKETS_MAX];
	uint32_t n = spread_bursts_code(code, mfd, idx, k);
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uint64_t)(uintptr_t)code;
	a.insn_cnt = n;
	a.license = (uint64_t)(uintptr_t) "GPL";
	int pfd = (int)spread_bpf(BPF_PROG_LOAD, &a);
	int rc = pfd < 0 ? -errno : 0;
	if (rc == 0 && setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &pfd, sizeof(pfd)) != 0)
		rc = -errno;
	/* the group holds the program, the program its map */
	if (pfd >= 0)
		close(pfd);
	close(mfd);
	return rc;
}

/* -- the choice ------------------------------------------------------------- */

int udp_sockets_spread_as(int fd, const uint32_t *idx, uint32_t k, enum udp_spread how)
{
	if (k == 0 || k > UDP_SOCKETS_MAX)
		return -EINVAL;
	return how == UDP_SPREAD_BURSTS ? spread_bursts(fd, idx, k) : spread_random(fd, idx, k);
}

int udp_sockets_spread(int fd, const uint32_t *idx, uint32_t k)
{
	if (udp_sockets_spread_as(fd, idx, k, UDP_SPREAD_BURSTS) == 0)
		return UDP_SPREAD_BURSTS;
	int rc = udp_sockets_spread_as(fd, idx, k, UDP_SPREAD_RANDOM);
	return rc < 0 ? rc : UDP_SPREAD_RANDOM;
}

const char *udp_spread_name(enum udp_spread how)
{
	return how == UDP_SPREAD_BURSTS ? "in bursts per CPU (eBPF)"
	                                : "at random per datagram (classic BPF: loading eBPF "
	                                  "was refused, it needs CAP_BPF)";
}
