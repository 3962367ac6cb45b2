/*
 * sipedgectl: the command line of the control socket.
 *
 *   sipedgectl [-s SOCKET] [-c CONFIG] [--json] [-T SECONDS] COMMAND [ARGS]
 *
 * The socket is -s, else the `control` path of the configuration (-c,
 * default /etc/sipedge/sipedge.yaml). A command is words and options:
 * the words name the method ("log level" is log.level), `--name VALUE`,
 * `--name=VALUE` and `name=VALUE` become params (numbers and true/false
 * as such, the rest as strings); a few commands take a positional value
 * (cli_commands below). So a command the daemon registers later works
 * here without a change, printed as JSON until it gets a table.
 *
 * Exit status: 0 on a result, 1 on an error answer or a failed call,
 * 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_conn.h"
#include "cli_print.h"
#include "config.h"
#include "ctl_proto.h"
#include "xmem.h"

#ifndef SIPEDGE_CONFIG_DEFAULT
#define SIPEDGE_CONFIG_DEFAULT "/etc/sipedge/sipedge.yaml"
#endif
#ifndef SIPEDGE_VERSION
#define SIPEDGE_VERSION "unknown"
#endif

#define CLI_TIMEOUT_S 10

/* Commands whose last words are values rather than part of the method. */
#define CLI_POSITIONAL_MAX 2
static const struct {
	const char *method;
	const char *positional[CLI_POSITIONAL_MAX]; /* the params trailing words fill */
	bool path; /* the first is a file name: sent absolute (the daemon's
		    * working directory is not ours) */
} cli_commands[] = {
    {"log.level", {"level"}, false},
    {"pool.enable", {"pool", "dest"}, false},
    {"pool.disable", {"pool", "dest"}, false},
    {"blacklist.add", {"target"}, false},
    {"blacklist.del", {"target"}, false},
    {"policy.check", {"file"}, true},
};

/* The word as a positional param of `method` (the next one free), or
 * false when the method takes no more. */
static bool cli_positional(const char *method, const char *word, json_t *params)
{
	for (size_t k = 0; k < sizeof(cli_commands) / sizeof(cli_commands[0]); k++) {
		if (strcmp(method, cli_commands[k].method) != 0)
			continue;
		for (size_t j = 0; j < CLI_POSITIONAL_MAX && cli_commands[k].positional[j]; j++) {
			const char *key = cli_commands[k].positional[j];
			if (json_object_get(params, key))
				continue;
			char *abs = NULL;
			if (j == 0 && cli_commands[k].path && word[0] != '/')
				abs = realpath(word, NULL);
			json_object_set_new(params, key, json_string(abs ? abs : word));
			free(abs);
			return true;
		}
		return false;
	}
	return false;
}

struct cli_opts {
	const char *socket;
	const char *config;
	bool json;
	double timeout_s;
};

static void cli_usage(FILE *f)
{
	fprintf(f,
		"usage: sipedgectl [-s SOCKET] [-c CONFIG] [--json] [-T SECONDS] COMMAND [ARGS]\n"
		"  -s, --socket PATH   control socket (default: `control` of the config)\n"
		"  -c, --config FILE   configuration (default " SIPEDGE_CONFIG_DEFAULT ")\n"
		"  -j, --json          print the result as JSON\n"
		"  -T, --timeout S     give up after S seconds (default %d; drain adds its own)\n"
		"commands:\n"
		"  status | workers | stats | transactions [--limit N] | log level [LEVEL]\n"
		"  pools | pool enable|disable POOL DEST\n"
		"  blacklist list | blacklist add ADDR[:PORT] [--transport T] [--seconds S]\n"
		"            [--code C] [--reason TEXT] | blacklist del ADDR[:PORT] [--transport T]\n"
		"  policy show | policy reload | policy check FILE\n"
		"  route --explain 'REQUEST LINE' [--from-ip ADDR] [--transport T]\n"
		"  drain [--timeout S] | resume | help (the daemon's list)\n",
		CLI_TIMEOUT_S);
}

/* A value as JSON: integer, real, true/false, else a string. */
static json_t *cli_value(const char *text)
{
	char *end;

	if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0)
		return json_boolean(text[0] == 't');
	long long ll = strtoll(text, &end, 10);
	if (*text && *end == '\0')
		return json_integer(ll);
	double d = strtod(text, &end);
	if (*text && *end == '\0')
		return json_real(d);
	return json_string(text);
}

/* Words and options after COMMAND's first word into method + params.
 * Returns 0, or -1 after printing what is wrong. */
static int cli_parse_command(int argc, char **argv, char *method, size_t size, json_t *params)
{
	size_t len = 0;
	method[0] = '\0';
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *eq = strchr(a, '=');
		if (strncmp(a, "--", 2) == 0) {
			char key[64];
			const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			size_t kl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			if (val == NULL || kl == 0 || kl >= sizeof(key)) {
				fprintf(stderr, "sipedgectl: option %s needs a value\n", a);
				return -1;
			}
			memcpy(key, a + 2, kl);
			key[kl] = '\0';
			json_object_set_new(params, key, cli_value(val));
		} else if (eq && eq != a) {
			char key[64];
			snprintf(key, sizeof(key), "%.*s", (int)(eq - a), a);
			json_object_set_new(params, key, cli_value(eq + 1));
		} else {
			if (cli_positional(method, a, params))
				continue;
			int n = snprintf(method + len, size - len, "%s%s", len ? "." : "", a);
			if (n < 0 || (size_t)n >= size - len) {
				fprintf(stderr, "sipedgectl: command too long\n");
				return -1;
			}
			len += (size_t)n;
		}
	}
	if (len == 0) {
		fprintf(stderr, "sipedgectl: no command\n");
		return -1;
	}
	return 0;
}

/* The socket path: -s, else the config's `control` (NULL if that fails). */
static char *cli_socket_path(const struct cli_opts *o)
{
	struct config cfg;
	struct ydoc_errs errs;

	if (o->socket)
		return xmem_strdup(o->socket);
	ydoc_errs_init(&errs);
	if (config_load(o->config, &cfg, &errs) != 0) {
		fprintf(stderr, "sipedgectl: cannot read the socket path from %s:\n", o->config);
		ydoc_errs_print(&errs, stderr);
		ydoc_errs_free(&errs);
		return NULL;
	}
	ydoc_errs_free(&errs);
	char *path = xmem_strdup(cfg.control);
	config_free(&cfg);
	return path;
}

/* Send the request, print the answer. Returns the exit status. */
static int cli_run(const struct cli_opts *o, const char *path, const char *method, json_t *params)
{
	int fd = cli_conn_open(path);
	if (fd < 0) {
		fprintf(stderr, "sipedgectl: connect(%s): %s\n", path, strerror(-fd));
		return 1;
	}
	double timeout = o->timeout_s;
	json_t *dt = json_object_get(params, "timeout");
	if (strcmp(method, "drain") == 0)
		timeout += dt && json_is_number(dt) ? json_number_value(dt) : 30;
	size_t len, alen;
	char *line = ctl_request_encode(method, params, 1, &len), *answer;
	int rc = cli_conn_call(fd, line, len, (int)(timeout * 1000), &answer, &alen);
	free(line);
	close(fd);
	if (rc != 0) {
		fprintf(stderr, "sipedgectl: %s: %s\n", method,
			rc == -ETIMEDOUT ? "no answer in time" : strerror(-rc));
		return 1;
	}
	struct ctl_response resp;
	const char *why;
	int status = 1;
	if (ctl_response_parse(answer, alen, &resp, &why) != 0) {
		fprintf(stderr, "sipedgectl: %s\n", why);
	} else if (resp.result) {
		if (o->json) {
			json_dumpf(resp.result, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
			putchar('\n');
		} else {
			cli_print(stdout, method, resp.result);
		}
		status = cli_result_status(method, resp.result);
	} else if (o->json) {
		json_dumpf(json_object_get(resp.root, "error"), stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
		putchar('\n');
	} else {
		fprintf(stderr, "sipedgectl: %s: %s (%d)\n", method, resp.message, resp.code);
		cli_print_error_data(stderr, json_object_get(json_object_get(resp.root, "error"), "data"));
	}
	ctl_response_free(&resp);
	free(answer);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'}, {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},         {"timeout", required_argument, NULL, 'T'},
	    {"version", no_argument, NULL, 'V'},      {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cli_opts o = {.config = SIPEDGE_CONFIG_DEFAULT, .timeout_s = CLI_TIMEOUT_S};
	int c;

	ctl_proto_init();
	/* "+": stop at the command, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+s:c:jT:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 'c': o.config = optarg; break;
		case 'j': o.json = true; break;
		case 'T': o.timeout_s = atof(optarg); break;
		case 'V': printf("sipedgectl %s\n", SIPEDGE_VERSION); return 0;
		case 'h': cli_usage(stdout); return 0;
		default: cli_usage(stderr); return 2;
		}
	}
	char method[256];
	json_t *params = json_object();
	if (o.timeout_s <= 0 ||
	    cli_parse_command(argc - optind, argv + optind, method, sizeof(method), params) != 0) {
		json_decref(params);
		cli_usage(stderr);
		return 2;
	}
	char *path = cli_socket_path(&o);
	int status = path ? cli_run(&o, path, method, params) : 1;
	free(path);
	json_decref(params);
	return status;
}
