/*
 * thread.h: starting a helper thread (the capture read-ahead, the output
 * writer, the host-key store's writer, the packet workers and the record
 * merger).
 *
 * Signals are the packet loop's: its handlers set flags that the loop
 * checks, and a signal should interrupt the loop's poll(2), not a helper's
 * read or write. kw_thread_start therefore starts the thread with every
 * signal blocked (a new thread inherits the creating thread's mask).
 */
#ifndef KW_THREAD_H
#define KW_THREAD_H

#include <pthread.h>

/*
 * kw_thread_start: pthread_create, the new thread taking no signals and
 * named name (at most 15 characters: what top -H, ps -L and perf show);
 * 0 or an errno value.
 */
int kw_thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *name);

#endif
