/*
 * shlock: a mutex shared by processes that survives the death of its owner.
 *
 * Workers are separate processes that lock data in the shared arena. A
 * worker may be killed (OOM killer, SIGKILL from an operator, a crash)
 * while it holds a lock; a plain process-shared mutex would then freeze
 * every other worker for good. A robust mutex is instead handed to the
 * next locker with EOWNERDEAD: shlock makes it consistent, counts the
 * event in the lock, and tells the caller so that the caller can repair
 * the data the dead owner may have left half-written.
 *
 * The lock lives in shared memory (it is embedded in every hash bucket of
 * the transaction table, so it is kept to one mutex and one counter) and
 * is never moved or copied once initialised.
 */
#ifndef SIPEDGE_SHLOCK_H
#define SIPEDGE_SHLOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct shlock {
	pthread_mutex_t mutex;      /* private: process-shared, robust */
	_Atomic uint32_t recovered; /* read-only: owners that died holding the lock;
	                             * only grows, written by the next locker */
};

/*
 * shlock_lock() and shlock_trylock() return one of:
 *   0                  the caller holds the lock; the protected data is as
 *                      the previous owner left it on unlock;
 *   SHLOCK_RECOVERED   the caller holds the lock, but the previous owner
 *                      died holding it: the protected data may be half
 *                      updated and the caller must repair or discard it
 *                      before relying on it (then unlock as usual);
 *   < 0                the caller does NOT hold the lock (SE_E* / -errno).
 * So "rc >= 0" means "locked", and callers that have nothing to repair may
 * treat SHLOCK_RECOVERED like 0.
 */
#define SHLOCK_RECOVERED 1

/* Initialise a lock in (shared) memory. Returns 0 or -errno from pthreads. */
int shlock_init(struct shlock *l);

/* Block until the lock is held. Returns 0, SHLOCK_RECOVERED, or
 * -ENOTRECOVERABLE (a previous recoverer unlocked without making the mutex
 * consistent: cannot happen through this API) / another -errno. */
int shlock_lock(struct shlock *l);

/* As shlock_lock() without blocking: -EBUSY if another owner holds it. */
int shlock_trylock(struct shlock *l);

/* Release a lock held by the caller (after shlock_lock/trylock returned
 * >= 0). Unlocking a lock one does not hold is undefined. */
void shlock_unlock(struct shlock *l);

/* How many owners died holding this lock (a statistic; no lock needed). */
uint32_t shlock_recovered(const struct shlock *l);

#endif
