/*
 * main: the sipedge command line.
 *
 *   sipedge [-c FILE]       run in the foreground until SIGTERM/SIGINT
 *   sipedge -t [-c FILE]    check the configuration and its policy, exit
 *   sipedge -t [-c FILE] --explain 'INVITE sip:...' [--from-ip A] [--transport T]
 *                           and say how the policy routes that request
 *   sipedge --version | -h
 *
 * The SIP layer comes from sip_runtime_hooks() (hooks_sip.h): the proxy
 * in the real executable, an echo double in the runtime's tests.
 */
#include "check.h"
#include "explain.h"
#include "hooks_sip.h"
#include "master.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#ifndef SIPEDGE_CONFIG_DEFAULT
#define SIPEDGE_CONFIG_DEFAULT "/etc/sipedge/sipedge.yaml"
#endif

static void main_usage(FILE *f)
{
	fprintf(f, "usage: sipedge [-t] [-c FILE]\n"
	           "  -c, --config FILE  configuration file (default " SIPEDGE_CONFIG_DEFAULT ")\n"
	           "  -t, --test         check the configuration and its policy, then exit:\n"
	           "                     0 if both load, 1 and every error as file:line:col\n"
	           "  --explain 'METHOD URI'\n"
	           "                     with -t: how the policy routes this request\n"
	           "  --from-ip ADDR     with --explain: the request's source address\n"
	           "  --transport T      with --explain: udp (default), tcp, tls, ws, wss\n"
	           "  -V, --version      print the version and exit\n"
	           "  -h, --help         print this help and exit\n"
	           "Without -t, run in the foreground until SIGTERM or SIGINT.\n");
}

struct main_explain {
	const char *line, *from_ip, *transport;
};

/* sipedge -t: exit status 0 when both files load, 1 otherwise (and with
 * --explain, 2 for a request line that does not parse). */
static int main_test(const char *path, const struct main_explain *ex)
{
	struct config cfg;
	struct policy *pol;
	char line[512];

	if (check_load(path, &cfg, &pol) != 0) {
		fprintf(stderr, "%s: test failed\n", path);
		return 1;
	}
	check_summary(path, &cfg, pol, line, sizeof(line));
	printf("%s\n", line);
	int rc = 0;
	if (ex->line)
		rc = explain_offline(pol, ex->line, ex->from_ip, ex->transport);
	policy_free(pol);
	config_free(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"test", no_argument, NULL, 't'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {"explain", required_argument, NULL, 'E'},
	    {"from-ip", required_argument, NULL, 'F'},
	    {"transport", required_argument, NULL, 'T'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = SIPEDGE_CONFIG_DEFAULT;
	bool test = false;
	struct main_explain ex = {0};
	int c;

	while ((c = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'E':
			ex.line = optarg;
			break;
		case 'F':
			ex.from_ip = optarg;
			break;
		case 'T':
			ex.transport = optarg;
			break;
		case 'V':
			printf("sipedge %s\n", SIPEDGE_VERSION);
			return 0;
		case 'h':
			main_usage(stdout);
			return 0;
		default:
			main_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sipedge: unexpected argument '%s'\n", argv[optind]);
		main_usage(stderr);
		return 2;
	}
	if ((ex.line || ex.from_ip || ex.transport) && !test) {
		fprintf(stderr, "sipedge: --explain, --from-ip and --transport go with -t\n");
		return 2;
	}
	if ((ex.from_ip || ex.transport) && !ex.line) {
		fprintf(stderr, "sipedge: --from-ip and --transport go with --explain\n");
		return 2;
	}
	if (test)
		return main_test(path, &ex);
	return master_run(path, sip_runtime_hooks()) == 0 ? 0 : 1;
}
