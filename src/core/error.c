/* Names and messages of the SE_E* codes (include/sipedge/error.h). */
#include <sipedge/error.h>
#include <string.h>

const char *se_strerror(int err)
{
	switch (err) {
#define XX(name, val, msg)                                                                  \
	case SE_##name:                                                                     \
		return msg;
		SE_ERRNO_MAP(XX)
#undef XX
	}
	if (err < 0 && err > -4000)
		return strerror(-err);
	return "unknown error";
}

const char *se_errname(int err)
{
	switch (err) {
#define XX(name, val, msg)                                                                  \
	case SE_##name:                                                                     \
		return #name;
		SE_ERRNO_MAP(XX)
#undef XX
	}
	return "EUNKNOWN";
}
