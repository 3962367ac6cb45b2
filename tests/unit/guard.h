/*
 * Guard-page placement for parser tests (the picohttpparser technique):
 * the input is copied so that its last byte sits right before a PROT_NONE
 * page, so any read past the end faults at once instead of passing
 * silently.
 */
#ifndef SE_TEST_GUARD_H
#define SE_TEST_GUARD_H

#include <stddef.h>

/* Copy data[0, len) to just before a guard page. The returned pointer is
 * valid until the next guard_place() or guard_release(). Aborts on failure. */
const char *guard_place(const void *data, size_t len);
void guard_release(void);

/* Read a file under $SE_TEST_DATA into a malloc'd buffer; aborts on error. */
char *guard_read_data(const char *relpath, size_t *len);

#endif
