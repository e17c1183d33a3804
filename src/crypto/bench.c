/*
 * bench — how many Ed25519 verifications per second this machine sustains:
 * the baseline the block-verification and mempool benchmarks compare
 * against. Every thread verifies the same BENCH_MSGS pre-signed messages of
 * BENCH_MSG_BYTES (about a small transaction) round-robin until the main
 * thread raises the stop flag after duration_ms. The rate is the total
 * count over the wall time from before the first thread starts to after the
 * last one is joined, so it errs low rather than high.
 */
#include "crypto/crypto_internal.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define BENCH_MSGS 256
#define BENCH_MSG_BYTES 200
#define BENCH_THREADS_MAX 64

struct bench_set {
  struct pubkey pk;
  struct signature sig[BENCH_MSGS];
  uint8_t msg[BENCH_MSGS][BENCH_MSG_BYTES];
  atomic_bool stop;
};

struct bench_worker {
  pthread_t thread;
  struct bench_set *set;
  uint64_t count;
};

static struct bench_set *bench_set_create(void) {
  struct bench_set *set = calloc(1, sizeof *set);
  struct cry_keys *k = cry_keys_generate();
  if (set == NULL || k == NULL) {
    free(set);
    cry_keys_destroy(k);
    return NULL;
  }
  cry_keys_sign_pk(k, &set->pk);
  for (size_t i = 0; i < BENCH_MSGS; i++) {
    cry_random(set->msg[i], BENCH_MSG_BYTES);
    cry_sign(k, &set->sig[i], set->msg[i], BENCH_MSG_BYTES);
  }
  cry_keys_destroy(k);
  atomic_init(&set->stop, false);
  return set;
}

static void *bench_worker_main(void *arg) {
  struct bench_worker *w = arg;
  const struct bench_set *set = w->set;
  uint64_t n = 0;
  /* At least one verification per thread, however short the run. */
  do {
    size_t i = (size_t)(n % BENCH_MSGS);
    int rc = cry_verify(&set->sig[i], set->msg[i], BENCH_MSG_BYTES, &set->pk);
    assert(rc == OK);
    (void)rc;
    n++;
  } while (!atomic_load_explicit(&w->set->stop, memory_order_relaxed));
  w->count = n;
  return NULL;
}

static void bench_sleep_ms(int ms) {
  struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

double cry_bench_verify_per_s(int threads, int duration_ms) {
  /* Arguments come from the command line: clamp rather than trust. */
  threads = threads < 1 ? 1 : threads > BENCH_THREADS_MAX ? BENCH_THREADS_MAX : threads;
  duration_ms = duration_ms < 1 ? 1 : duration_ms;
  struct bench_set *set = bench_set_create();
  if (set == NULL) {
    return 0.0;
  }
  struct bench_worker workers[BENCH_THREADS_MAX];
  uint64_t start_ns = base_mono_ns();
  int started = 0;
  while (started < threads) {
    workers[started] = (struct bench_worker){.set = set};
    if (pthread_create(&workers[started].thread, NULL, bench_worker_main, &workers[started]) != 0) {
      break; /* measure with the threads we got */
    }
    started++;
  }
  bench_sleep_ms(duration_ms);
  atomic_store(&set->stop, true);
  uint64_t total = 0;
  for (int i = 0; i < started; i++) {
    int rc = pthread_join(workers[i].thread, NULL);
    assert(rc == 0);
    (void)rc;
    total += workers[i].count;
  }
  uint64_t elapsed_ns = base_mono_ns() - start_ns;
  free(set);
  if (elapsed_ns == 0) {
    return 0.0;
  }
  return (double)total * 1e9 / (double)elapsed_ns;
}
