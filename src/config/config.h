/*
 * config: the server configuration (sipedge.yaml), loaded and checked.
 *
 * The file is data, not a language: every key is one row of the schema
 * table in config_schema.c (name, type, range, default, offset into struct
 * config, check callback, doc line), and docs/config.md documents each row.
 * Loading reports every problem as `file:line:col: message` and either
 * yields a complete, checked struct config or nothing: the master never
 * runs on half a configuration.
 */
#ifndef SE_CONFIG_CONFIG_H
#define SE_CONFIG_CONFIG_H

#include "ydoc.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Transports a listener can name. Only CONFIG_TP_UDP is served by the
 * runtime so far; the others parse, and a check refuses them at load. */
enum config_transport {
	CONFIG_TP_UDP = 1,
	CONFIG_TP_TCP,
	CONFIG_TP_TLS,
	CONFIG_TP_WS,
	CONFIG_TP_WSS,
};

/* One `listen` entry: udp://127.0.0.1:5060, tls://[::]:5061, ... */
struct config_listener {
	struct sockaddr_storage addr; /* address and port, ready for bind() */
	int family;                   /* AF_INET or AF_INET6 */
	uint16_t port;                /* host order; the transport's default if omitted */
	uint8_t transport;            /* enum config_transport */
	char host[INET6_ADDRSTRLEN];  /* the address as text, without brackets */
	uint32_t line, col;           /* where it is declared, for bind errors later */
};

enum config_log_level {
	CONFIG_LOG_ERROR,
	CONFIG_LOG_WARN,
	CONFIG_LOG_INFO,
	CONFIG_LOG_DEBUG,
};

#define CONFIG_MAX_WORKERS 64

/*
 * The loaded configuration. Every field is set after a successful
 * config_load (defaults included) and read-only afterwards; strings and
 * arrays are owned by the struct and released by config_free().
 */
struct config {
	char *file; /* the path given to config_load, for messages */
	char *dir;  /* absolute directory of that file: base of relative paths */

	struct config_listener *listen; /* n_listen >= 1 entries */
	size_t n_listen;

	uint32_t workers;  /* 1..CONFIG_MAX_WORKERS, `auto` already resolved */
	bool workers_auto; /* it was `auto` (the number of usable CPUs) */

	char *policy;  /* absolute path of the routing policy file */
	char *control; /* absolute path of the control socket */

	uint64_t shm_size; /* bytes of the shared arena */
	int log_level;     /* enum config_log_level */
	bool record_route; /* add Record-Route to dialog-creating requests */

	struct {
		uint32_t max_message_size; /* bytes */
		uint32_t max_headers;
		uint32_t max_via;
	} limits;

	struct { /* RFC 3261 timers, in milliseconds */
		uint32_t t1;
		uint32_t t2;
		uint32_t t4;
		uint32_t timer_c;
	} timers;

	/* The monitoring HTTP listener (/metrics, /live, /ready), served by the
	 * master; transport is CONFIG_TP_TCP. Off unless `metrics` is set. */
	bool metrics_on;
	struct config_listener metrics;

	struct {
		char *host;    /* NULL when not set; IPv6 keeps its brackets, as in Via */
		uint16_t port; /* 0: use the listener's port */
	} advertise;
};

/*
 * Load and check the file at `path` into *out. Returns 0, or SE_ECONFIG
 * with every problem (and any warning) added to errs, sorted by position;
 * *out is then zeroed and owns nothing. On success the caller releases
 * *out with config_free(). Warnings never make the load fail.
 */
int config_load(const char *path, struct config *out, struct ydoc_errs *errs);

/* Release what a loaded config owns and zero it; a zeroed config is fine. */
void config_free(struct config *cfg);

/* "udp", "tcp", "tls", "ws", "wss"; "?" for anything else. */
const char *config_transport_name(int transport);
/* "error", "warn", "info", "debug"; "?" for anything else. */
const char *config_log_level_name(int level);

#endif
