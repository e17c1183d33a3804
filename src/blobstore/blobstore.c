/*
 * blobstore — content-addressed files with per-organization accounting.
 *
 * Invariants: a file at DIR/xx/<hex> always holds bytes whose hash is
 * <hex> (written under a temporary name, synced, renamed; every read
 * re-checks); the usage table equals the sum of the sizes of the present
 * blobs by charged organization (counted at open, then kept by put and
 * delete under the mutex). The mutex is held across a put's quota check
 * and its rename so two uploads cannot both fit in the last free bytes;
 * the file I/O under it is bounded by LIM_BLOB_BYTES_MAX.
 */
#include "blobstore/blobstore.h"

#include "crypto/crypto.h"
#include "limits/limits.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOB_DIR_MAX 512
#define BLOB_PATH_MAX (BLOB_DIR_MAX + 96)

struct blob_account {
  struct hash32 org;
  uint64_t bytes;
  uint64_t count;
};

struct blob_store {
  char dir[BLOB_DIR_MAX];
  uint64_t quota;
  pthread_mutex_t mu;
  uint32_t naccounts;
  struct blob_account accounts[LIM_BLOB_ORGS_MAX];
  uint64_t puts, gets, deletes, corrupt;
  uint64_t tmp_seq;
};

/* ---- paths and small file helpers ---------------------------------------- */

static int path_of(char *out, const struct blob_store *b, const struct hash32 *h,
                   const char *suffix) {
  char hex[65];
  base_hash_hex(hex, h);
  int n = snprintf(out, BLOB_PATH_MAX, "%s/%.2s/%s%s", b->dir, hex, hex, suffix);
  return (n < 0 || n >= BLOB_PATH_MAX) ? ERR_IO : OK;
}

static int fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return ERR_IO;
  }
  int rc = fsync(fd) == 0 ? OK : ERR_IO;
  close(fd);
  return rc;
}

static int mkdir_p1(const char *path) {
  if (mkdir(path, 0700) == 0 || errno == EEXIST) {
    return OK;
  }
  return ERR_IO;
}

static int write_all(int fd, const uint8_t *p, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return ERR_IO;
    }
    p += w;
    len -= (size_t)w;
  }
  return OK;
}

/* Writes data to a fresh file in tmp/, synced; *tmp gets its path. */
static int write_tmp(struct blob_store *b, char tmp[BLOB_PATH_MAX], const uint8_t *data,
                     size_t len) {
  int n = snprintf(tmp, BLOB_PATH_MAX, "%s/tmp/%d.%llu", b->dir, (int)getpid(),
                   (unsigned long long)++b->tmp_seq);
  if (n < 0 || n >= BLOB_PATH_MAX) {
    return ERR_IO;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return ERR_IO;
  }
  int rc = write_all(fd, data, len);
  if (rc == OK && fsync(fd) != 0) {
    rc = ERR_IO;
  }
  if (close(fd) != 0 && rc == OK) {
    rc = ERR_IO;
  }
  if (rc != OK) {
    (void)unlink(tmp);
  }
  return rc;
}

static int read_file(const char *path, uint8_t **data, size_t *len, size_t max) {
  *data = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
  }
  struct stat st;
  int rc = OK;
  uint8_t *buf = NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = ERR_IO;
    goto done;
  }
  if ((uint64_t)st.st_size > max) {
    rc = ERR_CORRUPT;
    goto done;
  }
  size_t size = (size_t)st.st_size;
  buf = malloc(size > 0 ? size : 1);
  if (buf == NULL) {
    rc = ERR_NOMEM;
    goto done;
  }
  size_t got = 0;
  while (got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      rc = ERR_IO;
      goto done;
    }
    got += (size_t)r;
  }
  *data = buf;
  *len = size;
  buf = NULL;
done:
  free(buf);
  close(fd);
  return rc;
}

/* ---- accounts (under mu) --------------------------------------------------- */

static struct blob_account *account_find(struct blob_store *b, const struct hash32 *org,
                                         bool create) {
  for (uint32_t i = 0; i < b->naccounts; i++) {
    if (base_hash_eq(&b->accounts[i].org, org)) {
      return &b->accounts[i];
    }
  }
  if (!create || b->naccounts >= LIM_BLOB_ORGS_MAX) {
    return NULL;
  }
  struct blob_account *a = &b->accounts[b->naccounts++];
  memset(a, 0, sizeof *a);
  a->org = *org;
  return a;
}

static void account_debit(struct blob_store *b, const struct hash32 *org, uint64_t size) {
  struct blob_account *a = account_find(b, org, false);
  assert(a != NULL && a->bytes >= size && a->count >= 1);
  a->bytes -= size;
  a->count--;
}

/* The organization a blob is charged to (zeros when its .org file is
 * missing or damaged: such a blob is charged to nobody). */
static void owner_read(const struct blob_store *b, const struct hash32 *h, struct hash32 *org) {
  memset(org, 0, sizeof *org);
  char path[BLOB_PATH_MAX];
  uint8_t *data = NULL;
  size_t len = 0;
  if (path_of(path, b, h, ".org") == OK && read_file(path, &data, &len, 32) == OK && len == 32) {
    memcpy(org->b, data, 32);
  }
  free(data);
}

/* ---- open and the walk ----------------------------------------------------- */

static bool hex_name(const char *name, struct hash32 *h) {
  return strlen(name) == 64 && base_hex_decode(h->b, 32, name) == OK;
}

struct walk_entry {
  struct hash32 hash;
  struct hash32 org;
  uint64_t size;
  int64_t mtime;
};

/* Visits the blobs of one fan-out directory. */
static int walk_sub(struct blob_store *b, const char *sub, int (*fn)(void *, struct walk_entry *),
                    void *ctx) {
  DIR *d = opendir(sub);
  if (d == NULL) {
    return errno == ENOENT ? OK : ERR_IO;
  }
  int rc = OK;
  struct dirent *e;
  while (rc == OK && (e = readdir(d)) != NULL) {
    struct walk_entry w;
    if (!hex_name(e->d_name, &w.hash)) {
      continue;
    }
    char path[BLOB_PATH_MAX];
    struct stat st;
    if (path_of(path, b, &w.hash, "") != OK || lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
      continue;
    }
    w.size = (uint64_t)st.st_size;
    w.mtime = (int64_t)st.st_mtime;
    owner_read(b, &w.hash, &w.org);
    rc = fn(ctx, &w);
  }
  closedir(d);
  return rc;
}

static int walk_all(struct blob_store *b, int (*fn)(void *, struct walk_entry *), void *ctx) {
  for (unsigned i = 0; i < 256; i++) {
    char sub[BLOB_PATH_MAX];
    int n = snprintf(sub, sizeof sub, "%s/%02x", b->dir, i);
    if (n < 0 || (size_t)n >= sizeof sub) {
      return ERR_IO;
    }
    int rc = walk_sub(b, sub, fn, ctx);
    if (rc != OK) {
      return rc;
    }
  }
  return OK;
}

static int count_one(void *ctx, struct walk_entry *w) {
  struct blob_store *b = ctx;
  struct blob_account *a = account_find(b, &w->org, true);
  if (a == NULL) {
    return ERR_LIMIT;
  }
  a->bytes += w->size;
  a->count++;
  return OK;
}

static int clear_tmp(const char *tmpdir) {
  DIR *d = opendir(tmpdir);
  if (d == NULL) {
    return ERR_IO;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      continue;
    }
    char path[BLOB_PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
    if (n > 0 && (size_t)n < sizeof path) {
      (void)unlink(path);
    }
  }
  closedir(d);
  return OK;
}

int blob_open(struct blob_store **out, const char *dir, uint64_t quota_bytes) {
  assert(out != NULL && dir != NULL && quota_bytes > 0);
  *out = NULL;
  if (strlen(dir) >= BLOB_DIR_MAX - 16) {
    return ERR_IO;
  }
  struct blob_store *b = calloc(1, sizeof *b);
  if (b == NULL) {
    return ERR_NOMEM;
  }
  memcpy(b->dir, dir, strlen(dir) + 1);
  b->quota = quota_bytes;
  pthread_mutex_init(&b->mu, NULL);
  char tmp[BLOB_PATH_MAX];
  int rc = mkdir_p1(dir);
  if (rc == OK) {
    int n = snprintf(tmp, sizeof tmp, "%s/tmp", dir);
    rc = (n > 0 && (size_t)n < sizeof tmp) ? mkdir_p1(tmp) : ERR_IO;
  }
  if (rc == OK) {
    rc = clear_tmp(tmp);
  }
  if (rc == OK) {
    rc = walk_all(b, count_one, b);
  }
  if (rc != OK) {
    blob_close(b);
    return rc;
  }
  *out = b;
  return OK;
}

void blob_close(struct blob_store *b) {
  if (b == NULL) {
    return;
  }
  pthread_mutex_destroy(&b->mu);
  free(b);
}

/* ---- put, get, delete ------------------------------------------------------ */

/* Renames the owner file then the blob into place (under mu). */
static int put_locked(struct blob_store *b, const struct hash32 *org, const struct hash32 *hash,
                      const uint8_t *data, size_t len) {
  char sub[BLOB_PATH_MAX], path[BLOB_PATH_MAX], opath[BLOB_PATH_MAX];
  char tmp[BLOB_PATH_MAX], otmp[BLOB_PATH_MAX];
  char hex[65];
  base_hash_hex(hex, hash);
  int n = snprintf(sub, sizeof sub, "%s/%.2s", b->dir, hex);
  if (n < 0 || (size_t)n >= sizeof sub || mkdir_p1(sub) != OK || path_of(path, b, hash, "") != OK ||
      path_of(opath, b, hash, ".org") != OK) {
    return ERR_IO;
  }
  int rc = write_tmp(b, otmp, org->b, sizeof org->b);
  if (rc != OK) {
    return rc;
  }
  rc = write_tmp(b, tmp, data, len);
  if (rc != OK) {
    (void)unlink(otmp);
    return rc;
  }
  if (rename(otmp, opath) != 0 || rename(tmp, path) != 0) {
    (void)unlink(otmp);
    (void)unlink(tmp);
    (void)unlink(opath);
    return ERR_IO;
  }
  return fsync_dir(sub);
}

int blob_put(struct blob_store *b, const struct hash32 *org, const struct hash32 *hash,
             const uint8_t *data, size_t len) {
  assert(b != NULL && org != NULL && hash != NULL && (data != NULL || len == 0));
  if (len == 0 || len > LIM_BLOB_BYTES_MAX) {
    return ERR_OVERSIZE;
  }
  struct hash32 got;
  cry_hash(&got, data, len);
  if (!base_hash_eq(&got, hash)) {
    return ERR_HASH_MISMATCH;
  }
  pthread_mutex_lock(&b->mu);
  int rc = OK;
  if (blob_has(b, hash)) {
    goto done;
  }
  struct blob_account *a = account_find(b, org, true);
  if (a == NULL) {
    rc = ERR_LIMIT;
    goto done;
  }
  if (a->bytes + len > b->quota) {
    rc = ERR_BLOB_QUOTA;
    goto done;
  }
  rc = put_locked(b, org, hash, data, len);
  if (rc == OK) {
    a->bytes += len;
    a->count++;
    b->puts++;
  }
done:
  pthread_mutex_unlock(&b->mu);
  return rc;
}

bool blob_has(struct blob_store *b, const struct hash32 *hash) {
  char path[BLOB_PATH_MAX];
  struct stat st;
  return path_of(path, b, hash, "") == OK && lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int blob_get(struct blob_store *b, const struct hash32 *hash, uint8_t **data, size_t *len) {
  assert(b != NULL && hash != NULL && data != NULL && len != NULL);
  char path[BLOB_PATH_MAX];
  if (path_of(path, b, hash, "") != OK) {
    return ERR_IO;
  }
  int rc = read_file(path, data, len, LIM_BLOB_BYTES_MAX);
  if (rc != OK) {
    if (rc == ERR_CORRUPT) {
      pthread_mutex_lock(&b->mu);
      b->corrupt++;
      pthread_mutex_unlock(&b->mu);
    }
    return rc;
  }
  struct hash32 got;
  cry_hash(&got, *data, *len);
  if (!base_hash_eq(&got, hash)) {
    free(*data);
    *data = NULL;
    *len = 0;
    pthread_mutex_lock(&b->mu);
    b->corrupt++;
    pthread_mutex_unlock(&b->mu);
    return ERR_CORRUPT;
  }
  pthread_mutex_lock(&b->mu);
  b->gets++;
  pthread_mutex_unlock(&b->mu);
  return OK;
}

/* Overwrites the file's bytes with zeros and syncs them. */
static int shred(const char *path, uint64_t size) {
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return ERR_IO;
  }
  static const uint8_t zeros[4096];
  int rc = OK;
  for (uint64_t off = 0; rc == OK && off < size; off += sizeof zeros) {
    size_t n = size - off < sizeof zeros ? (size_t)(size - off) : sizeof zeros;
    rc = write_all(fd, zeros, n);
  }
  if (rc == OK && fsync(fd) != 0) {
    rc = ERR_IO;
  }
  close(fd);
  return rc;
}

int blob_delete(struct blob_store *b, const struct hash32 *hash) {
  assert(b != NULL && hash != NULL);
  char path[BLOB_PATH_MAX], opath[BLOB_PATH_MAX];
  if (path_of(path, b, hash, "") != OK || path_of(opath, b, hash, ".org") != OK) {
    return ERR_IO;
  }
  pthread_mutex_lock(&b->mu);
  struct stat st;
  int rc = OK;
  if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = ERR_NOT_FOUND;
    goto done;
  }
  struct hash32 org;
  owner_read(b, hash, &org);
  rc = shred(path, (uint64_t)st.st_size);
  if (rc == OK && unlink(path) != 0) {
    rc = ERR_IO;
  }
  if (rc != OK) {
    goto done;
  }
  (void)unlink(opath);
  account_debit(b, &org, (uint64_t)st.st_size);
  b->deletes++;
  char sub[BLOB_PATH_MAX];
  char hex[65];
  base_hash_hex(hex, hash);
  int n = snprintf(sub, sizeof sub, "%s/%.2s", b->dir, hex);
  rc = (n > 0 && (size_t)n < sizeof sub) ? fsync_dir(sub) : ERR_IO;
done:
  pthread_mutex_unlock(&b->mu);
  return rc;
}

uint64_t blob_usage(struct blob_store *b, const struct hash32 *org) {
  pthread_mutex_lock(&b->mu);
  const struct blob_account *a = account_find(b, org, false);
  uint64_t v = a == NULL ? 0 : a->bytes;
  pthread_mutex_unlock(&b->mu);
  return v;
}

void blob_stats(struct blob_store *b, struct blob_stats *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&b->mu);
  for (uint32_t i = 0; i < b->naccounts; i++) {
    out->count += b->accounts[i].count;
    out->bytes += b->accounts[i].bytes;
  }
  out->puts = b->puts;
  out->gets = b->gets;
  out->deletes = b->deletes;
  out->corrupt = b->corrupt;
  pthread_mutex_unlock(&b->mu);
}

struct walk_ctx {
  blob_visit_fn fn;
  void *ctx;
};

static int walk_visit(void *ctx, struct walk_entry *w) {
  struct walk_ctx *c = ctx;
  return c->fn(c->ctx, &w->hash, &w->org, w->size, w->mtime);
}

int blob_walk(struct blob_store *b, blob_visit_fn fn, void *ctx) {
  assert(b != NULL && fn != NULL);
  struct walk_ctx c = {fn, ctx};
  return walk_all(b, walk_visit, &c);
}
