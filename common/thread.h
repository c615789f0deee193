/*
 * thread.h: starting a helper thread (the capture read-ahead, the output
 * writer, the host-key store's writer).
 *
 * Signals are the packet loop's: its handlers set flags that the loop
 * checks, and a signal should interrupt the loop's poll(2), not a helper's
 * read or write. kw_thread_start therefore starts the thread with every
 * signal blocked (a new thread inherits the creating thread's mask).
 */
#ifndef KW_THREAD_H
#define KW_THREAD_H

#include <pthread.h>
#include <signal.h>

/* kw_thread_start: pthread_create, the new thread taking no signals; 0 or an errno value. */
static inline int kw_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return e;
}

#endif
