/*
 * shlock: process-shared robust mutex (see shlock.h for the contract).
 *
 * pthread robust mutexes rather than a hand-made futex lock (nginx's
 * ngx_shmtx.c spins on an atomic and checks the owner's pid): the kernel's
 * robust-futex list releases a dead owner's locks at exit, whatever killed
 * it, with no pid bookkeeping and no reuse-of-pid race.
 */
#include "shlock.h"

#include <errno.h>

int shlock_init(struct shlock *l)
{
	pthread_mutexattr_t attr;
	int rc = pthread_mutexattr_init(&attr);

	if (rc != 0)
		return -rc;
	rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (rc == 0)
		rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (rc == 0)
		rc = pthread_mutex_init(&l->mutex, &attr);
	pthread_mutexattr_destroy(&attr);
	if (rc != 0)
		return -rc;
	atomic_init(&l->recovered, 0);
	return 0;
}

/*
 * The caller now owns a mutex whose previous owner died. Mark it
 * consistent at once (otherwise unlocking it would make it unusable for
 * everyone, ENOTRECOVERABLE) and count the event; repairing the data is
 * the caller's job, signalled by SHLOCK_RECOVERED.
 */
static int shlock_recover(struct shlock *l)
{
	int rc = pthread_mutex_consistent(&l->mutex);

	if (rc != 0) {
		pthread_mutex_unlock(&l->mutex);
		return -rc;
	}
	atomic_fetch_add_explicit(&l->recovered, 1, memory_order_relaxed);
	return SHLOCK_RECOVERED;
}

int shlock_lock(struct shlock *l)
{
	int rc = pthread_mutex_lock(&l->mutex);

	if (rc == 0)
		return 0;
	if (rc == EOWNERDEAD)
		return shlock_recover(l);
	return -rc;
}

int shlock_trylock(struct shlock *l)
{
	int rc = pthread_mutex_trylock(&l->mutex);

	if (rc == 0)
		return 0;
	if (rc == EOWNERDEAD)
		return shlock_recover(l);
	return -rc;
}

void shlock_unlock(struct shlock *l)
{
	pthread_mutex_unlock(&l->mutex);
}

uint32_t shlock_recovered(const struct shlock *l)
{
	return atomic_load_explicit(&l->recovered, memory_order_relaxed);
}
