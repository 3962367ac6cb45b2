/*
 * Default reason phrases for locally generated responses: every status code
 * of RFC 3261 §21 and the later ones of the IANA "SIP Response Codes"
 * registry. Phrases are the registry's; where a later RFC renamed a code
 * (RFC 8224 for 436/437) the current name is used.
 *
 * A switch, not a table indexed by code: the compiler turns it into a jump
 * table or a binary search, and there is no 600-entry array of mostly NULLs.
 */
#include <sipedge/build.h>

const char *se_reason_phrase(uint16_t code)
{
	switch (code) {
	/* 1xx */
	case 100: return "Trying";
	case 180: return "Ringing";
	case 181: return "Call Is Being Forwarded";
	case 182: return "Queued";
	case 183: return "Session Progress";
	case 199: return "Early Dialog Terminated"; /* RFC 6228 */
	/* 2xx */
	case 200: return "OK";
	case 202: return "Accepted"; /* RFC 3265, deprecated by RFC 6665 */
	case 204: return "No Notification"; /* RFC 5839 */
	/* 3xx */
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Moved Temporarily";
	case 305: return "Use Proxy";
	case 380: return "Alternative Service";
	/* 4xx */
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 412: return "Conditional Request Failed"; /* RFC 3903 */
	case 413: return "Request Entity Too Large";
	case 414: return "Request-URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Unsupported URI Scheme";
	case 417: return "Unknown Resource-Priority"; /* RFC 4412 */
	case 420: return "Bad Extension";
	case 421: return "Extension Required";
	case 422: return "Session Interval Too Small"; /* RFC 4028 */
	case 423: return "Interval Too Brief";
	case 424: return "Bad Location Information"; /* RFC 6442 */
	case 425: return "Bad Alert Message"; /* RFC 8876 */
	case 428: return "Use Identity Header"; /* RFC 8224 */
	case 429: return "Provide Referrer Identity"; /* RFC 3892 */
	case 430: return "Flow Failed"; /* RFC 5626 */
	case 433: return "Anonymity Disallowed"; /* RFC 5079 */
	case 436: return "Bad Identity Info"; /* RFC 8224 */
	case 437: return "Unsupported Credential"; /* RFC 8224 */
	case 438: return "Invalid Identity Header"; /* RFC 8224 */
	case 439: return "First Hop Lacks Outbound Support"; /* RFC 5626 */
	case 440: return "Max-Breadth Exceeded"; /* RFC 5393 */
	case 469: return "Bad Info Package"; /* RFC 6086 */
	case 470: return "Consent Needed"; /* RFC 5360 */
	case 480: return "Temporarily Unavailable";
	case 481: return "Call/Transaction Does Not Exist";
	case 482: return "Loop Detected";
	case 483: return "Too Many Hops";
	case 484: return "Address Incomplete";
	case 485: return "Ambiguous";
	case 486: return "Busy Here";
	case 487: return "Request Terminated";
	case 488: return "Not Acceptable Here";
	case 489: return "Bad Event"; /* RFC 6665 */
	case 491: return "Request Pending";
	case 493: return "Undecipherable";
	case 494: return "Security Agreement Required"; /* RFC 3329 */
	/* 5xx */
	case 500: return "Server Internal Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Server Time-out";
	case 505: return "Version Not Supported";
	case 513: return "Message Too Large";
	case 555: return "Push Notification Service Not Supported"; /* RFC 8599 */
	case 580: return "Precondition Failure"; /* RFC 3312 */
	/* 6xx */
	case 600: return "Busy Everywhere";
	case 603: return "Decline";
	case 604: return "Does Not Exist Anywhere";
	case 606: return "Not Acceptable";
	case 607: return "Unwanted"; /* RFC 8197 */
	case 608: return "Rejected"; /* RFC 8688 */
	}
	return "Unknown";
}
