/*
 * Tests of the server config (src/config/config*.c): sipedge.yaml to a
 * struct config through the schema table.
 *
 * Each row is YAML text, written to a file in a fresh temporary directory,
 * and either the value expected in struct config (read back through the
 * schema row's offset and type) or the exact messages expected, written
 * "F:line:col: message" with F standing for the file's path. The shipped
 * etc/sipedge.yaml and docs/config.md are checked against the schema too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "yaml_case.h"

#include <sipedge/error.h>

#include "config.h"
#include "config_schema.h"

#define MAX_LINES 20

/* ---- fixtures --------------------------------------------------------- */

YAML_CASE_TMPDIR("test_config")

static const char *write_file(const char *name, const char *text)
{
	return yaml_case_write(tmpdir, name, text);
}

#define check_lines(e, want, file, row) yaml_case_check(e, want, MAX_LINES, file, row)

/* Value of a (dotted) key, read through its schema row as an integer. */
static uint64_t field_u64(const struct config *cfg, const char *key)
{
	const struct config_item *table = config_schema, *it;
	const char *dot = strchr(key, '.');
	if (dot) {
		it = config_schema_find(table, key, (size_t)(dot - key));
		assert_non_null(it);
		table = it->arg;
		key = dot + 1;
	}
	it = config_schema_find(table, key, strlen(key));
	assert_non_null(it);
	const char *f = (const char *)cfg + it->offset;
	switch (it->type) {
	case CONFIG_T_INT:
	case CONFIG_T_DURATION:
		return *(const uint32_t *)f;
	case CONFIG_T_SIZE:
		return *(const uint64_t *)f;
	case CONFIG_T_BOOL:
		return *(const bool *)f;
	case CONFIG_T_ENUM:
		return (uint64_t) * (const int *)f;
	default:
		fail_msg("key %s is not a number", key);
	}
	return 0;
}

static int load_text(const char *text, struct config *cfg, struct ydoc_errs *e, const char **path)
{
	*path = write_file("sipedge.yaml", text);
	return config_load(*path, cfg, e);
}

/* ---- the documented example ------------------------------------------- */

static const char example[] =
    "# sipedge.yaml\n"
    "listen:\n"
    "  - udp://127.0.0.1:5060\n"
    "workers: 2\n"
    "policy: policy.yaml          # relative to this file\n"
    "control: sipedge.sock        # control socket (used by the CLI issue)\n";

static void check_example(const struct config *cfg, const char *dir)
{
	char want[600];
	assert_int_equal(cfg->n_listen, 1);
	const struct config_listener *l = &cfg->listen[0];
	assert_int_equal(l->transport, CONFIG_TP_UDP);
	assert_int_equal(l->family, AF_INET);
	assert_string_equal(l->host, "127.0.0.1");
	assert_int_equal(l->port, 5060);
	assert_int_equal(l->line, 3);
	assert_int_equal(l->col, 5);
	const struct sockaddr_in *sa = (const struct sockaddr_in *)&l->addr;
	assert_int_equal(sa->sin_family, AF_INET);
	assert_int_equal(ntohs(sa->sin_port), 5060);
	assert_int_equal(ntohl(sa->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(cfg->workers, 2);
	assert_false(cfg->workers_auto);
	assert_string_equal(cfg->dir, dir);
	snprintf(want, sizeof(want), "%s/policy.yaml", dir);
	assert_string_equal(cfg->policy, want);
	snprintf(want, sizeof(want), "%s/sipedge.sock", dir);
	assert_string_equal(cfg->control, want);
}

static void test_example(void **state)
{
	(void)state;
	struct config cfg;
	struct ydoc_errs e = {0};
	const char *path;
	assert_int_equal(load_text(example, &cfg, &e, &path), 0);
	assert_int_equal(e.n, 0);
	assert_string_equal(cfg.file, path);
	check_example(&cfg, tmpdir);
	config_free(&cfg);
	assert_null(cfg.listen); /* config_free zeroes */
	config_free(&cfg);       /* and a zeroed config frees fine */
	ydoc_errs_free(&e);
}

/* The copy shipped in etc/ is the same example (ports may differ). */
static void test_shipped(void **state)
{
	(void)state;
	const char *data = getenv("SE_TEST_DATA");
	assert_non_null(data);
	char path[512], dir[512];
	snprintf(path, sizeof(path), "%s/../../etc/sipedge.yaml", data);
	snprintf(dir, sizeof(dir), "%s/../../etc", data);
	char *real = realpath(dir, NULL);
	assert_non_null(real);

	struct config cfg;
	struct ydoc_errs e = {0};
	int rc = config_load(path, &cfg, &e);
	ydoc_errs_print(&e, stderr);
	assert_int_equal(rc, 0);
	assert_int_equal(e.n, 0);
	check_example(&cfg, real);
	config_free(&cfg);
	ydoc_errs_free(&e);
	free(real);
}

/* ---- defaults and values ---------------------------------------------- */

static void test_defaults(void **state)
{
	(void)state;
	struct config cfg;
	struct ydoc_errs e = {0};
	const char *path;
	assert_int_equal(load_text("listen: [udp://0.0.0.0]\n", &cfg, &e, &path), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(cfg.listen[0].port, 5060);
	assert_true(cfg.workers_auto);
	assert_in_range(cfg.workers, 1, CONFIG_MAX_WORKERS);
	assert_int_equal(cfg.shm_size, 64u << 20);
	assert_int_equal(cfg.log_level, CONFIG_LOG_INFO);
	assert_int_equal(cfg.limits.max_message_size, 65535);
	assert_int_equal(cfg.limits.max_headers, 128);
	assert_int_equal(cfg.limits.max_via, 32);
	assert_int_equal(cfg.timers.t1, 500);
	assert_int_equal(cfg.timers.t2, 4000);
	assert_int_equal(cfg.timers.t4, 5000);
	assert_int_equal(cfg.timers.timer_c, 180000);
	assert_true(cfg.record_route);
	assert_null(cfg.advertise.host);
	assert_int_equal(cfg.advertise.port, 0);
	config_free(&cfg);
	ydoc_errs_free(&e);
}

#define L "listen: [udp://127.0.0.1]\n"

static const struct value_row {
	const char *yaml;
	const char *key;
	uint64_t want;
} value_rows[] = {
    {L "workers: 1\n", "workers", 1},
    {L "workers: 64\n", "workers", 64},
    {L "shm_size: 4MiB\n", "shm_size", 4u << 20},
    {L "shm_size: 1G\n", "shm_size", 1u << 30},
    {L "log_level: debug\n", "log_level", CONFIG_LOG_DEBUG},
    {L "log_level: error\n", "log_level", CONFIG_LOG_ERROR},
    {L "log_level: warn\n", "log_level", CONFIG_LOG_WARN},
    {L "record_route: no\n", "record_route", 0},
    {L "record_route: yes\n", "record_route", 1},
    {L "limits:\n  max_message_size: 4096\n", "limits.max_message_size", 4096},
    {L "limits:\n  max_headers: 64\n  max_via: 8\n", "limits.max_headers", 64},
    {L "limits:\n  max_headers: 64\n  max_via: 8\n", "limits.max_via", 8},
    {L "limits:\n  max_headers: 64\n  max_via: 8\n", "limits.max_message_size", 65535},
    {L "limits:\n", "limits.max_via", 32},
    {L "timers: {t1: 1s, t2: 8s}\n", "timers.t1", 1000},
    {L "timers: {t1: 1s, t2: 8s}\n", "timers.t2", 8000},
    {L "timers: {t1: 1s, t2: 8s}\n", "timers.t4", 5000},
    {L "timers: {t1: 250ms, t2: 250ms}\n", "timers.t2", 250},
    {L "timers:\n  timer_c: 2m\n", "timers.timer_c", 120000},
};

static void test_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(value_rows) / sizeof(value_rows[0]); i++) {
		const struct value_row *r = &value_rows[i];
		struct config cfg;
		struct ydoc_errs e = {0};
		const char *path;
		int rc = load_text(r->yaml, &cfg, &e, &path);
		const char *none[] = {NULL};
		check_lines(&e, none, path, i);
		assert_int_equal(rc, 0);
		uint64_t got = field_u64(&cfg, r->key);
		if (got != r->want)
			fail_msg("row %zu: %s = %llu, want %llu", i, r->key,
			         (unsigned long long)got, (unsigned long long)r->want);
		config_free(&cfg);
		ydoc_errs_free(&e);
	}
}

static const struct listen_row {
	const char *uri;
	int transport, family;
	const char *host;
	uint16_t port;
} listen_rows[] = {
    {"udp://127.0.0.1:5060", CONFIG_TP_UDP, AF_INET, "127.0.0.1", 5060},
    {"udp://[::1]:5060", CONFIG_TP_UDP, AF_INET6, "::1", 5060},
    {"udp://[::]", CONFIG_TP_UDP, AF_INET6, "::", 5060},
    {"UDP://0.0.0.0:15060", CONFIG_TP_UDP, AF_INET, "0.0.0.0", 15060},
    {"udp://[2001:db8::5]:65535", CONFIG_TP_UDP, AF_INET6, "2001:db8::5", 65535},
};

static void test_listen(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(listen_rows) / sizeof(listen_rows[0]); i++) {
		const struct listen_row *r = &listen_rows[i];
		char text[128];
		snprintf(text, sizeof(text), "listen:\n  - %s\n", r->uri);
		struct config cfg;
		struct ydoc_errs e = {0};
		const char *path;
		int rc = load_text(text, &cfg, &e, &path);
		const char *none[] = {NULL};
		check_lines(&e, none, path, i);
		assert_int_equal(rc, 0);
		const struct config_listener *l = &cfg.listen[0];
		assert_int_equal(l->transport, r->transport);
		assert_int_equal(l->family, r->family);
		assert_string_equal(l->host, r->host);
		assert_int_equal(l->port, r->port);
		assert_int_equal(l->addr.ss_family, r->family);
		char back[INET6_ADDRSTRLEN];
		const void *a =
		    r->family == AF_INET
		        ? (const void *)&((const struct sockaddr_in *)&l->addr)->sin_addr
		        : (const void *)&((const struct sockaddr_in6 *)&l->addr)->sin6_addr;
		uint16_t nport = r->family == AF_INET
		                     ? ((const struct sockaddr_in *)&l->addr)->sin_port
		                     : ((const struct sockaddr_in6 *)&l->addr)->sin6_port;
		assert_non_null(inet_ntop(r->family, a, back, sizeof(back)));
		assert_string_equal(back, r->host);
		assert_int_equal(ntohs(nport), r->port);
		config_free(&cfg);
		ydoc_errs_free(&e);
	}
}

static const struct adv_row {
	const char *text;
	const char *host;
	uint16_t port;
} adv_rows[] = {
    {"203.0.113.7", "203.0.113.7", 0},
    {"203.0.113.7:5070", "203.0.113.7", 5070},
    {"sip.example.com", "sip.example.com", 0},
    {"edge-1.example.com:5060", "edge-1.example.com", 5060},
    {"'[2001:db8::7]'", "[2001:db8::7]", 0},
    {"'[2001:db8::7]:5080'", "[2001:db8::7]", 5080},
};

static void test_advertise(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(adv_rows) / sizeof(adv_rows[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), L "advertise: %s\n", adv_rows[i].text);
		struct config cfg;
		struct ydoc_errs e = {0};
		const char *path;
		int rc = load_text(text, &cfg, &e, &path);
		const char *none[] = {NULL};
		check_lines(&e, none, path, i);
		assert_int_equal(rc, 0);
		assert_string_equal(cfg.advertise.host, adv_rows[i].host);
		assert_int_equal(cfg.advertise.port, adv_rows[i].port);
		config_free(&cfg);
		ydoc_errs_free(&e);
	}
}

/* Relative paths follow the config file, whatever the working directory;
 * absolute ones are kept. */
static void test_paths(void **state)
{
	(void)state;
	char sub[512], want[600], cwd[512];
	snprintf(sub, sizeof(sub), "%s/conf.d", tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file("conf.d/s.yaml", L "policy: ../p/policy.yaml\ncontrol: /run/x.sock\n");

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpdir), 0);
	struct config cfg;
	struct ydoc_errs e = {0};
	int rc = config_load("conf.d/s.yaml", &cfg, &e);
	assert_int_equal(chdir(cwd), 0);
	ydoc_errs_print(&e, stderr);
	assert_int_equal(rc, 0);
	assert_string_equal(cfg.file, "conf.d/s.yaml");
	assert_string_equal(cfg.dir, sub);
	snprintf(want, sizeof(want), "%s/../p/policy.yaml", sub);
	assert_string_equal(cfg.policy, want);
	assert_string_equal(cfg.control, "/run/x.sock");
	config_free(&cfg);
	ydoc_errs_free(&e);
}

/* ---- errors ----------------------------------------------------------- */

#define A10  "aaaaaaaaaa"
#define A100 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10

static const struct err_row {
	const char *yaml;
	const char *lines[MAX_LINES];
} err_rows[] = {
    {"", {"F:1:1: missing required key 'listen'"}},
    {"# nothing\nworkers: 2\n", {"F:2:1: missing required key 'listen'"}},
    {"- listen\n", {"F:1:1: expected a mapping of keys at the top level, got a sequence"}},
    {"listen: []\n", {"F:1:9: listen: at least one address is required"}},
    {"listen: udp://1.2.3.4\n", {"F:1:9: listen: expected a sequence, got a scalar"}},
    {"listen:\n"
     "  - udp://127.0.0.1:5060\n"
     "  - tcp://127.0.0.1:5060\n"
     "  - tls://[::1]:5061\n"
     "  - ws://0.0.0.0:8080\n"
     "  - wss://0.0.0.0\n"
     "  - sctp://1.2.3.4\n"
     "  - 1.2.3.4:5060\n"
     "  - udp://host.example.com\n"
     "  - udp://::1\n"
     "  - udp://[::1\n"
     "  - udp://[::1]x\n"
     "  - udp://1.2.3.4:0\n"
     "  - udp://1.2.3.4:65536\n"
     "  - udp://:5060\n"
     "  - udp://127.0.0.1\n"
     "  - udp://[1::2::3]\n"
     "  - {uri: udp://1.2.3.4}\n",
     {"F:3:5: listen: transport tcp is not supported yet",
      "F:4:5: listen: transport tls is not supported yet",
      "F:5:5: listen: transport ws is not supported yet",
      "F:6:5: listen: transport wss is not supported yet",
      "F:7:5: listen: bad address 'sctp://1.2.3.4': unknown transport (use udp, tcp, tls, ws "
      "or wss)",
      "F:8:5: listen: bad address '1.2.3.4:5060': expected TRANSPORT://ADDRESS[:PORT]",
      "F:9:5: listen: bad address 'udp://host.example.com': address must be an IP address "
      "(IPv6 in brackets)",
      "F:10:5: listen: bad address 'udp://::1': IPv6 addresses must be written in brackets",
      "F:11:5: listen: bad address 'udp://[::1': missing ']' after the IPv6 address",
      "F:12:5: listen: bad address 'udp://[::1]x': unexpected text after ']'",
      "F:13:5: listen: bad address 'udp://1.2.3.4:0': bad port",
      "F:14:5: listen: bad address 'udp://1.2.3.4:65536': bad port",
      "F:15:5: listen: bad address 'udp://:5060': missing address",
      "F:16:5: listen: duplicate address 'udp://127.0.0.1' (first at line 2)",
      "F:17:5: listen: bad address 'udp://[1::2::3]': bad IPv6 address",
      "F:18:5: listen: expected a value, got a mapping"}},
    {L "foo: 1\nlimits:\n  max_vias: 3\ntimers:\n  T1: 1s\n",
     {"F:2:1: unknown key 'foo'", "F:4:3: unknown key 'limits.max_vias'",
      "F:6:3: unknown key 'timers.T1'"}},
    {L "limits: 5\ntimers: [1s]\n",
     {"F:2:9: limits: expected a mapping, got a scalar",
      "F:3:9: timers: expected a mapping, got a sequence"}},
    {L "workers: 0\n", {"F:2:10: workers: 0 is out of range (1..64)"}},
    {L "workers: 65\n", {"F:2:10: workers: 65 is out of range (1..64)"}},
    {L "workers: lots\n", {"F:2:10: workers: expected an integer (1..64) or 'auto', got 'lots'"}},
    {L "workers: 2x\n", {"F:2:10: workers: expected an integer, got '2x'"}},
    {L "workers:\n", {"F:2:9: workers: expected a value, got an empty value"}},
    {L "timers:\n  t1: 5s\n", {"F:3:7: timers.t2 (4s) must not be less than timers.t1 (5s)"}},
    {L "timers:\n  t1: 1s\n  t2: 900ms\n",
     {"F:4:7: timers.t2 (900ms) must not be less than timers.t1 (1s)"}},
    {L "timers:\n  t1: 5ms\n  timer_c: 500ms\n",
     {"F:3:7: timers.t1: 5ms is out of range (10ms..1m)",
      "F:4:12: timers.timer_c: 500ms is out of range (1s..2h)"}},
    {L "timers:\n  t4: 1h\n", {"F:3:7: timers.t4: 1h is out of range (1ms..10m)"}},
    {L "timers:\n  t2: 4\n", {"F:3:7: timers.t2: bad duration '4': missing unit (ms, s, m or h)"}},
    {L "shm_size: 1M\n", {"F:2:11: shm_size: 1M is out of range (4MiB..64GiB)"}},
    {L "shm_size: 64MB\n",
     {"F:2:11: shm_size: bad size '64MB': unknown unit (use K, KiB, M, MiB, G or GiB)"}},
    {L "limits:\n  max_message_size: 100\n",
     {"F:3:21: limits.max_message_size: 100 is out of range (1024..16777216)"}},
    {L "log_level: verbose\n",
     {"F:2:12: log_level: expected error, warn, info or debug, got 'verbose'"}},
    {L "record_route: maybe\n",
     {"F:2:15: record_route: expected yes, no, true or false, got 'maybe'"}},
    {L "policy:\ncontrol: ''\n",
     {"F:2:8: policy: expected a value, got an empty value", "F:3:10: control: must not be empty"}},
    {L "advertise: 'bad host!'\n", {"F:2:12: advertise: bad address 'bad host!': bad host name"}},
    {L "advertise: '[::1'\n",
     {"F:2:12: advertise: bad address '[::1': missing ']' after the IPv6 address"}},
    {L "advertise: 1.2.3.999\n", {"F:2:12: advertise: bad address '1.2.3.999': bad IPv4 address"}},
    {L "advertise: a.example:0\n", {"F:2:12: advertise: bad address 'a.example:0': bad port"}},
    {L "advertise: -a.example\n", {"F:2:12: advertise: bad address '-a.example': bad host name"}},
    {L "advertise: '2001:db8::1'\n",
     {"F:2:12: advertise: bad address '2001:db8::1': IPv6 addresses must be written in brackets"}},
    {L "control: /tmp/" A100 "x.sock\n",
     {"F:2:10: control: socket path '/tmp/" A100 "x.sock' is too long (111 bytes, at most 107)"}},
    /* ydoc's refusals come in file order with the schema's */
    {L "workers: 2\nrecord_route: 3\nworkers: 3\nlog_level: &l info\n",
     {"F:3:15: record_route: expected yes, no, true or false, got '3'",
      "F:4:1: duplicate key 'workers' (first at line 2, column 1)",
      "F:5:12: anchors are not supported ('&l'): write each value where it applies"}},
    {"listen: [udp://1.2.3.4\n",
     {"F:2:1: syntax error: did not find expected ',' or ']' (while parsing a flow sequence "
      "at line 1)"}},
    /* every error of a file in one run, in file order */
    {"workers: many\n"
     "listen:\n"
     "  - tcp://1.2.3.4\n"
     "shm_size: 1K\n"
     "bogus: true\n"
     "timers:\n"
     "  t1: 2\n",
     {"F:1:10: workers: expected an integer (1..64) or 'auto', got 'many'",
      "F:3:5: listen: transport tcp is not supported yet",
      "F:4:11: shm_size: 1K is out of range (4MiB..64GiB)", "F:5:1: unknown key 'bogus'",
      "F:7:7: timers.t1: bad duration '2': missing unit (ms, s, m or h)"}},
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++) {
		struct config cfg;
		struct ydoc_errs e = {0};
		const char *path;
		int rc = load_text(err_rows[i].yaml, &cfg, &e, &path);
		check_lines(&e, err_rows[i].lines, path, i);
		assert_int_equal(rc, SE_ECONFIG);
		assert_null(cfg.listen); /* nothing half-loaded */
		assert_null(cfg.file);
		ydoc_errs_free(&e);
	}
}

static void test_missing_file(void **state)
{
	(void)state;
	struct config cfg;
	struct ydoc_errs e = {0};
	char path[512];
	snprintf(path, sizeof(path), "%s/none.yaml", tmpdir);
	assert_int_equal(config_load(path, &cfg, &e), SE_ECONFIG);
	const char *want[] = {"F: cannot open: No such file or directory", NULL};
	check_lines(&e, want, path, 0);
	ydoc_errs_free(&e);
}

/* A default relative path can overflow sun_path under a deep directory:
 * reported without a position, since the operator wrote nothing there. */
static void test_control_default_too_long(void **state)
{
	(void)state;
	char dir[512], name[600];
	snprintf(dir, sizeof(dir), "%s/%0100d", tmpdir, 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(name, sizeof(name), "%0100d/s.yaml", 0);
	const char *path = write_file(name, L);
	struct config cfg;
	struct ydoc_errs e = {0};
	assert_int_equal(config_load(path, &cfg, &e), SE_ECONFIG);
	assert_int_equal(e.n, 1);
	char want[1024];
	int n = snprintf(want, sizeof(want),
	                 "%s: control: default socket path '%s/sipedge.sock' is too long (%zu "
	                 "bytes, at most 107): set 'control' to a shorter path",
	                 path, dir, strlen(dir) + strlen("/sipedge.sock"));
	assert_true(n > 0 && (size_t)n < sizeof(want));
	assert_string_equal(e.v[0].text, want);
	ydoc_errs_free(&e);
}

/* ---- the schema itself ------------------------------------------------ */

static void check_docs(const struct config_item *table, const char *prefix, const char *doc)
{
	for (const struct config_item *it = table; it->name; it++) {
		char key[128], heading[160];
		snprintf(key, sizeof(key), "%s%s", prefix, it->name);
		assert_non_null(it->doc);
		assert_true(strlen(it->doc) > 10);
		snprintf(heading, sizeof(heading), "\n### `%s`\n", key);
		if (!strstr(doc, heading))
			fail_msg("docs/config.md has no heading for key '%s'", key);
		if (it->type == CONFIG_T_GROUP) {
			char sub[130];
			snprintf(sub, sizeof(sub), "%s.", key);
			check_docs(it->arg, sub, doc);
		}
	}
}

/* Every key has a doc line and an entry in docs/config.md; defaults are
 * proven to parse by test_defaults (a bad one aborts the load). */
static void test_schema_docs(void **state)
{
	(void)state;
	const char *data = getenv("SE_TEST_DATA");
	assert_non_null(data);
	char path[512];
	snprintf(path, sizeof(path), "%s/../../docs/config.md", data);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	static char doc[1 << 16];
	size_t n = fread(doc, 1, sizeof(doc) - 1, f);
	fclose(f);
	doc[n] = '\0';
	check_docs(config_schema, "", doc);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(config_transport_name(CONFIG_TP_UDP), "udp");
	assert_string_equal(config_transport_name(CONFIG_TP_WSS), "wss");
	assert_string_equal(config_transport_name(0), "?");
	assert_string_equal(config_log_level_name(CONFIG_LOG_WARN), "warn");
	assert_string_equal(config_log_level_name(9), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example),      cmocka_unit_test(test_shipped),
	    cmocka_unit_test(test_defaults),     cmocka_unit_test(test_values),
	    cmocka_unit_test(test_listen),       cmocka_unit_test(test_advertise),
	    cmocka_unit_test(test_paths),        cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_missing_file), cmocka_unit_test(test_control_default_too_long),
	    cmocka_unit_test(test_schema_docs),  cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
