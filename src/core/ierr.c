/*
 * The internal error table (include/sipedge/ierr.h).
 */
#include <sipedge/ierr.h>

#include <string.h>

static const struct se_ierr_info ierr_table[SE_IERR__COUNT] = {
#define XX(name, id, code, reason) [SE_IERR_##name] = {id, code, reason},
    SE_IERR_MAP(XX)
#undef XX
};

const struct se_ierr_info *se_ierr_info(enum se_ierr e)
{
	return &ierr_table[e < SE_IERR__COUNT ? e : 0];
}

int se_ierr_by_id(const char *id, size_t len)
{
	for (int e = 0; e < SE_IERR__COUNT; e++)
		if (strlen(ierr_table[e].id) == len && memcmp(ierr_table[e].id, id, len) == 0)
			return e;
	return -1;
}
