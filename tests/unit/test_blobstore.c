/*
 * Unit tests of the blob store: put and get by content hash, the checks
 * in their order (size, hash, quota) each leaving the store as it was,
 * idempotent puts charged once, deletion crediting the organization,
 * accounts recounted at reopen, a file changed on disk never served, and
 * leftovers of an interrupted write removed at open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "blobstore/blobstore.h"
#include "crypto/crypto.h"
#include "limits/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUOTA 4096u

struct fx {
  char dir[64];
  struct blob_store *b;
};

static int fx_setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  snprintf(f->dir, sizeof(f->dir), "/tmp/medchain-blob-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  assert_int_equal(blob_open(&f->b, f->dir, QUOTA), OK);
  *state = f;
  return 0;
}

static int fx_teardown(void **state) {
  struct fx *f = *state;
  blob_close(f->b);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

static struct hash32 org_n(uint8_t n) {
  struct hash32 h;
  memset(&h, n, sizeof h);
  return h;
}

static void fill(uint8_t *p, size_t len, uint8_t seed) {
  for (size_t i = 0; i < len; i++) {
    p[i] = (uint8_t)(seed + i * 7);
  }
}

static void test_put_get(void **state) {
  struct fx *f = *state;
  uint8_t data[1000];
  fill(data, sizeof data, 1);
  struct hash32 h, org = org_n(1);
  cry_hash(&h, data, sizeof data);
  assert_false(blob_has(f->b, &h));
  assert_int_equal(blob_put(f->b, &org, &h, data, sizeof data), OK);
  assert_true(blob_has(f->b, &h));
  uint8_t *got = NULL;
  size_t len = 0;
  assert_int_equal(blob_get(f->b, &h, &got, &len), OK);
  assert_int_equal(len, sizeof data);
  assert_memory_equal(got, data, len);
  free(got);
  /* A second put of the same bytes is OK and charged once. */
  assert_int_equal(blob_put(f->b, &org, &h, data, sizeof data), OK);
  assert_int_equal(blob_usage(f->b, &org), sizeof data);
  struct blob_stats st;
  blob_stats(f->b, &st);
  assert_int_equal(st.count, 1);
  assert_int_equal(st.bytes, sizeof data);
}

static void test_refusals_change_nothing(void **state) {
  struct fx *f = *state;
  uint8_t data[1000];
  fill(data, sizeof data, 2);
  struct hash32 h, org = org_n(2);
  cry_hash(&h, data, sizeof data);
  /* Empty. */
  assert_int_equal(blob_put(f->b, &org, &h, data, 0), ERR_OVERSIZE);
  /* Wrong hash. */
  struct hash32 wrong = h;
  wrong.b[0] ^= 1;
  assert_int_equal(blob_put(f->b, &org, &wrong, data, sizeof data), ERR_HASH_MISMATCH);
  assert_false(blob_has(f->b, &wrong));
  /* Over the limit: refused before hashing. */
  uint8_t *big = calloc(1, LIM_BLOB_BYTES_MAX + 1);
  assert_non_null(big);
  assert_int_equal(blob_put(f->b, &org, &h, big, LIM_BLOB_BYTES_MAX + 1), ERR_OVERSIZE);
  free(big);
  /* Over the quota: 4 x 1000 fit, the fifth does not. */
  for (uint8_t i = 0; i < 4; i++) {
    data[0] = i;
    cry_hash(&h, data, sizeof data);
    assert_int_equal(blob_put(f->b, &org, &h, data, sizeof data), OK);
  }
  data[0] = 99;
  cry_hash(&h, data, sizeof data);
  assert_int_equal(blob_put(f->b, &org, &h, data, sizeof data), ERR_BLOB_QUOTA);
  assert_false(blob_has(f->b, &h));
  assert_int_equal(blob_usage(f->b, &org), 4000);
  /* Another organization has its own quota. */
  struct hash32 other = org_n(3);
  assert_int_equal(blob_put(f->b, &other, &h, data, sizeof data), OK);
  assert_int_equal(blob_usage(f->b, &other), 1000);
  assert_int_equal(blob_usage(f->b, &org), 4000);
}

static void test_delete_and_reopen(void **state) {
  struct fx *f = *state;
  uint8_t a[300], b[500];
  fill(a, sizeof a, 3);
  fill(b, sizeof b, 4);
  struct hash32 ha, hb, org = org_n(4);
  cry_hash(&ha, a, sizeof a);
  cry_hash(&hb, b, sizeof b);
  assert_int_equal(blob_put(f->b, &org, &ha, a, sizeof a), OK);
  assert_int_equal(blob_put(f->b, &org, &hb, b, sizeof b), OK);
  assert_int_equal(blob_delete(f->b, &ha), OK);
  assert_int_equal(blob_delete(f->b, &ha), ERR_NOT_FOUND);
  assert_false(blob_has(f->b, &ha));
  uint8_t *got = NULL;
  size_t len = 0;
  assert_int_equal(blob_get(f->b, &ha, &got, &len), ERR_NOT_FOUND);
  assert_null(got);
  assert_int_equal(blob_usage(f->b, &org), sizeof b);
  /* A stray temporary file (a crash mid-write) goes at open. */
  char tmp[128];
  snprintf(tmp, sizeof tmp, "%s/tmp/stray", f->dir);
  FILE *fp = fopen(tmp, "w");
  assert_non_null(fp);
  fputs("half", fp);
  fclose(fp);
  blob_close(f->b);
  assert_int_equal(blob_open(&f->b, f->dir, QUOTA), OK);
  assert_int_equal(access(tmp, F_OK), -1);
  assert_int_equal(blob_usage(f->b, &org), sizeof b);
  assert_int_equal(blob_get(f->b, &hb, &got, &len), OK);
  assert_memory_equal(got, b, sizeof b);
  free(got);
}

static void test_tampered_file_not_served(void **state) {
  struct fx *f = *state;
  uint8_t a[256];
  fill(a, sizeof a, 5);
  struct hash32 h, org = org_n(5);
  cry_hash(&h, a, sizeof a);
  assert_int_equal(blob_put(f->b, &org, &h, a, sizeof a), OK);
  char hex[65], path[160];
  base_hash_hex(hex, &h);
  snprintf(path, sizeof path, "%s/%.2s/%s", f->dir, hex, hex);
  FILE *fp = fopen(path, "r+b");
  assert_non_null(fp);
  fputc(0xff, fp);
  fclose(fp);
  uint8_t *got = NULL;
  size_t len = 0;
  assert_int_equal(blob_get(f->b, &h, &got, &len), ERR_CORRUPT);
  assert_null(got);
  struct blob_stats st;
  blob_stats(f->b, &st);
  assert_int_equal(st.corrupt, 1);
}

struct walk_count {
  uint64_t n, bytes;
};

static int count_visit(void *ctx, const struct hash32 *hash, const struct hash32 *org,
                       uint64_t size, int64_t mtime_s) {
  (void)hash;
  (void)org;
  assert_true(mtime_s > 0);
  struct walk_count *c = ctx;
  c->n++;
  c->bytes += size;
  return OK;
}

static void test_walk(void **state) {
  struct fx *f = *state;
  struct hash32 org = org_n(6);
  for (uint8_t i = 0; i < 10; i++) {
    uint8_t d[64];
    fill(d, sizeof d, i);
    struct hash32 h;
    cry_hash(&h, d, sizeof d);
    assert_int_equal(blob_put(f->b, &org, &h, d, sizeof d), OK);
  }
  struct walk_count c = {0, 0};
  assert_int_equal(blob_walk(f->b, count_visit, &c), OK);
  assert_int_equal(c.n, 10);
  assert_int_equal(c.bytes, 640);
}

int main(void) {
  assert_int_equal(cry_init(), OK);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_put_get, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_refusals_change_nothing, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_delete_and_reopen, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_tampered_file_not_served, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_walk, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
