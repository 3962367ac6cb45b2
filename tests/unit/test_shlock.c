/*
 * shlock: exclusion between processes, and take-over of a lock whose owner
 * died holding it (exited, killed by itself or by another process), both
 * by a later locker and by one already blocked in shlock_lock().
 *
 * Children never call cmocka: they report through their exit status. Each
 * child arms alarm() so that a bug that deadlocks it cannot hang the test;
 * the parent reaps every child it forks and signals only those.
 */
#include "shlock.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#define CHILD_ALARM 10 /* seconds before a stuck child is killed */

struct shared {
	struct shlock lock;
	volatile uint64_t counter; /* protected by lock */
};

static struct shared *map_shared(void)
{
	void *m = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	struct shared *s = m;
	assert_int_equal(shlock_init(&s->lock), 0);
	return s;
}

static int setup(void **state)
{
	*state = map_shared();
	return 0;
}

static int teardown(void **state)
{
	munmap(*state, sizeof(struct shared));
	return 0;
}

/* Exit status of child pid; fails the test if it did not exit normally. */
static int reap(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* A child that tries the lock once and exits with 0 (got it), 1 (busy),
 * 2 (recovered it), 3 (error). */
static pid_t spawn_trylock(struct shared *s)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(CHILD_ALARM);
		int rc = shlock_trylock(&s->lock);
		if (rc >= 0)
			shlock_unlock(&s->lock);
		_exit(rc == 0 ? 0 : rc == -EBUSY ? 1 : rc == SHLOCK_RECOVERED ? 2 : 3);
	}
	return pid;
}

static void test_size(void **state)
{
	(void)state;
	/* Embedded in every transaction bucket: keep it within a cache line. */
	assert_true(sizeof(struct shlock) <= 64);
}

static void test_lock_excludes_other_process(void **state)
{
	struct shared *s = *state;

	assert_int_equal(shlock_lock(&s->lock), 0);
	assert_int_equal(reap(spawn_trylock(s)), 1);
	assert_int_equal(shlock_trylock(&s->lock), -EBUSY);
	shlock_unlock(&s->lock);
	assert_int_equal(reap(spawn_trylock(s)), 0);
	assert_int_equal(shlock_trylock(&s->lock), 0);
	shlock_unlock(&s->lock);
	assert_int_equal(shlock_recovered(&s->lock), 0);
}

/* N processes add to an unprotected counter under the lock. */
static void test_mutual_exclusion(void **state)
{
	enum { NCHILD = 4, ITERS = 20000 };
	struct shared *s = *state;
	pid_t pids[NCHILD];

	s->counter = 0;
	for (int i = 0; i < NCHILD; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			alarm(CHILD_ALARM);
			for (int k = 0; k < ITERS; k++) {
				if (shlock_lock(&s->lock) != 0)
					_exit(1);
				uint64_t v = s->counter;
				s->counter = v + 1;
				shlock_unlock(&s->lock);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < NCHILD; i++)
		assert_int_equal(reap(pids[i]), 0);
	assert_int_equal(s->counter, (uint64_t)NCHILD * ITERS);
	assert_int_equal(shlock_recovered(&s->lock), 0);
}

enum death { DIE_EXIT, DIE_SELF_SIGKILL, DIE_KILLED };

static const struct death_case {
	const char *name;
	enum death how;
	int (*acquire)(struct shlock *);
} death_cases[] = {
    {"_exit, then lock", DIE_EXIT, shlock_lock},
    {"_exit, then trylock", DIE_EXIT, shlock_trylock},
    {"raise(SIGKILL), then lock", DIE_SELF_SIGKILL, shlock_lock},
    {"killed by parent, then lock", DIE_KILLED, shlock_lock},
    {"killed by parent, then trylock", DIE_KILLED, shlock_trylock},
};

/* Fork a child that takes the lock, says so through a pipe, and then dies
 * as told (DIE_KILLED: waits to be killed). Returns when it holds it. */
static pid_t spawn_holder(struct shared *s, enum death how)
{
	int fds[2];
	char c;

	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(CHILD_ALARM);
		close(fds[0]);
		if (shlock_lock(&s->lock) != 0)
			_exit(3);
		s->counter = 42; /* a half-done update the next owner must see */
		if (write(fds[1], "x", 1) != 1)
			_exit(4);
		if (how == DIE_EXIT)
			_exit(0);
		if (how == DIE_SELF_SIGKILL)
			raise(SIGKILL);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	return pid;
}

static void test_owner_death(void **state)
{
	for (size_t i = 0; i < sizeof(death_cases) / sizeof(death_cases[0]); i++) {
		const struct death_case *t = &death_cases[i];
		struct shared *s = map_shared();
		int status;

		print_message("case: %s\n", t->name);
		pid_t pid = spawn_holder(s, t->how);
		if (t->how == DIE_KILLED)
			assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (t->how == DIE_EXIT)
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		else
			assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

		assert_int_equal(t->acquire(&s->lock), SHLOCK_RECOVERED);
		assert_int_equal(shlock_recovered(&s->lock), 1);
		assert_int_equal(s->counter, 42);
		s->counter = 0; /* "repair" */
		shlock_unlock(&s->lock);

		/* Normal again, in this process and in another. */
		assert_int_equal(shlock_lock(&s->lock), 0);
		shlock_unlock(&s->lock);
		assert_int_equal(reap(spawn_trylock(s)), 0);
		assert_int_equal(shlock_trylock(&s->lock), 0);
		shlock_unlock(&s->lock);
		assert_int_equal(shlock_recovered(&s->lock), 1);
		munmap(s, sizeof(*s));
	}
	(void)state;
}

/* A process already blocked in shlock_lock() is woken by the owner's death
 * and takes the lock over. */
static void test_blocked_waiter_recovers(void **state)
{
	struct shared *s = *state;
	pid_t holder = spawn_holder(s, DIE_KILLED);
	pid_t waiter = fork();

	assert_true(waiter >= 0);
	if (waiter == 0) {
		alarm(CHILD_ALARM);
		int rc = shlock_lock(&s->lock);
		if (rc >= 0)
			shlock_unlock(&s->lock);
		_exit(rc == SHLOCK_RECOVERED ? 0 : rc == 0 ? 1 : 2);
	}
	sleep_ms(50); /* let it block; the result is the same if it has not */
	assert_int_equal(kill(holder, SIGKILL), 0);
	assert_int_equal(waitpid(holder, NULL, 0), holder);
	assert_int_equal(reap(waiter), 0);

	assert_int_equal(shlock_lock(&s->lock), 0); /* the waiter unlocked cleanly */
	shlock_unlock(&s->lock);
	assert_int_equal(shlock_recovered(&s->lock), 1);
}

/* Two deaths in a row are two recoveries. */
static void test_counter_counts_each_death(void **state)
{
	struct shared *s = *state;

	for (int i = 1; i <= 3; i++) {
		pid_t pid = spawn_holder(s, DIE_EXIT);
		assert_int_equal(waitpid(pid, NULL, 0), pid);
		assert_int_equal(shlock_lock(&s->lock), SHLOCK_RECOVERED);
		shlock_unlock(&s->lock);
		assert_int_equal(shlock_recovered(&s->lock), (uint32_t)i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_size),
	    cmocka_unit_test_setup_teardown(test_lock_excludes_other_process, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mutual_exclusion, setup, teardown),
	    cmocka_unit_test(test_owner_death),
	    cmocka_unit_test_setup_teardown(test_blocked_waiter_recovers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counter_counts_each_death, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
