/*
 * ctl_stream: what every stream of the control services does the same way
 * (control clients, worker channels on both ends, HTTP clients): read into
 * one per-process chunk, and write a heap buffer that is freed once
 * written. Each process runs one loop on one thread, so one chunk serves
 * every read: the bytes are consumed before the next read.
 */
#ifndef SE_CTL_STREAM_H
#define SE_CTL_STREAM_H

#include <stddef.h>
#include <uv.h>

#define CTL_STREAM_CHUNK (64u * 1024u)

/* libuv's alloc callback: the process's chunk of CTL_STREAM_CHUNK bytes. */
void ctl_stream_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);

/*
 * Write buf (len bytes, malloc'd, taken over: freed once written or on
 * failure). done(arg, status), when not NULL, runs after the write with
 * libuv's status. Returns 0, or a libuv error: then buf is freed and done
 * never runs.
 */
int ctl_stream_write(uv_stream_t *s, char *buf, size_t len, void (*done)(void *arg, int status),
		     void *arg);

#endif
