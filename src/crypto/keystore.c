/*
 * keystore — an identity's secret seed on disk, in one fixed-size binary
 * file of KS_FILE_BYTES (177) bytes, integers big-endian:
 *
 *   offset size
 *        0    8  magic "MCKEYS1\n"
 *        8    1  kdf: 0 = none (unprotected: tests, demos), 1 = Argon2id v1.3
 *        9    8  Argon2id opslimit (0 when kdf = 0)
 *       17    8  Argon2id memlimit in bytes (0 when kdf = 0)
 *       25   16  Argon2id salt (random; zero when kdf = 0)
 *       41   24  XChaCha20-Poly1305 nonce (random)
 *       65   32  Ed25519 public key
 *       97   32  X25519 public key
 *      129   48  XChaCha20-Poly1305 of the 32-byte seed, then its 16-byte tag
 *
 * The AEAD key is Argon2id(passphrase, salt, opslimit, memlimit) for kdf 1
 * and 32 zero bytes for kdf 0: one format and one code path, and an
 * unprotected file still detects damage, though it hides nothing. The
 * associated data is the whole 129-byte header, so the public keys, the kdf
 * and its limits cannot be changed without failing authentication. Readers
 * use the limits the file records (files written with other limits stay
 * readable) but refuse more than KS_OPSLIMIT_MAX passes or KS_MEMLIMIT_MAX
 * bytes, so a crafted file cannot make them burn unbounded CPU or memory.
 * After decryption every key is re-derived from the seed and must match the
 * stored public keys.
 *
 * Reading a protected file without a passphrase fails at once
 * (ERR_BAD_PASSPHRASE, no Argon2id), which lets callers try NULL first and
 * prompt only when needed. An unprotected file ignores any passphrase given:
 * the node passes MEDCHAIN_PASSPHRASE whenever it is set.
 *
 * Writes are atomic: the image goes to a fresh temporary file beside the
 * target (mkstemp: O_CREAT|O_EXCL, mode 0600), is fsynced, then renamed over
 * the target (overwrite) or hard-linked to it (no overwrite: link fails with
 * EEXIST rather than replace a file that appeared meanwhile); the directory
 * is fsynced last. The derived key and the seed only ever sit in
 * sodium_malloc memory, which sodium_free wipes on every path.
 */
#include "crypto/crypto_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KS_MAGIC "MCKEYS1\n"
#define KS_MAGIC_BYTES 8
#define KS_KDF_NONE 0
#define KS_KDF_ARGON2ID 1
#define KS_SALT_BYTES 16

#define KS_OFF_KDF 8
#define KS_OFF_OPSLIMIT 9
#define KS_OFF_MEMLIMIT 17
#define KS_OFF_SALT 25
#define KS_OFF_NONCE 41
#define KS_OFF_SIGN_PK 65
#define KS_OFF_BOX_PK 97
#define KS_OFF_SEALED 129
#define KS_HEADER_BYTES KS_OFF_SEALED
#define KS_SEALED_BYTES (CRY_SEED_BYTES + CRY_AEAD_TAG_BYTES)
#define KS_FILE_BYTES (KS_OFF_SEALED + KS_SEALED_BYTES)

/* SENSITIVE is 4 passes; 32 leaves room for slower-but-stronger choices
 * while bounding what a crafted file can cost. */
#define KS_OPSLIMIT_MAX 32u
/* SENSITIVE is exactly 1 GiB; anything above is refused, not attempted. */
#define KS_MEMLIMIT_MAX (1ull << 30)

_Static_assert(sizeof(KS_MAGIC) - 1 == KS_MAGIC_BYTES, "magic length");
_Static_assert(KS_OFF_OPSLIMIT == KS_OFF_KDF + 1 && KS_OFF_MEMLIMIT == KS_OFF_OPSLIMIT + 8 &&
                   KS_OFF_SALT == KS_OFF_MEMLIMIT + 8 &&
                   KS_OFF_NONCE == KS_OFF_SALT + KS_SALT_BYTES &&
                   KS_OFF_SIGN_PK == KS_OFF_NONCE + CRY_AEAD_NONCE_BYTES &&
                   KS_OFF_BOX_PK == KS_OFF_SIGN_PK + CRY_SIGN_PK_BYTES &&
                   KS_OFF_SEALED == KS_OFF_BOX_PK + CRY_BOX_PK_BYTES,
               "keystore fields are contiguous");
_Static_assert(KS_FILE_BYTES == 177, "the keystore size is part of the format");
_Static_assert(KS_SALT_BYTES == crypto_pwhash_SALTBYTES, "Argon2id salt size");
_Static_assert(KS_MEMLIMIT_MAX <= SIZE_MAX, "memlimit must fit crypto_pwhash's size_t");
_Static_assert(crypto_pwhash_argon2id_MEMLIMIT_MODERATE <= KS_MEMLIMIT_MAX &&
                   crypto_pwhash_argon2id_OPSLIMIT_MODERATE <= KS_OPSLIMIT_MAX,
               "files written with the default limits must be readable");

/* The decoded header: everything in the file but the sealed seed. */
struct ks_header {
  uint8_t kdf;
  uint64_t opslimit;
  uint64_t memlimit;
  uint8_t salt[KS_SALT_BYTES];
  uint8_t nonce[CRY_AEAD_NONCE_BYTES];
  uint8_t sign_pk[CRY_SIGN_PK_BYTES];
  uint8_t box_pk[CRY_BOX_PK_BYTES];
};

/* Secrets of one read or write, kept in guarded memory. */
struct ks_secret {
  uint8_t key[CRY_AEAD_KEY_BYTES];
  uint8_t seed[CRY_SEED_BYTES];
};

static uint64_t ks_opslimit = crypto_pwhash_argon2id_OPSLIMIT_MODERATE;
static uint64_t ks_memlimit = crypto_pwhash_argon2id_MEMLIMIT_MODERATE;

void cry_keystore_kdf_limits_set(uint64_t opslimit, uint64_t memlimit) {
  assert(opslimit >= crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE && opslimit <= KS_OPSLIMIT_MAX);
  assert(memlimit >= crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE && memlimit <= KS_MEMLIMIT_MAX);
  ks_opslimit = opslimit;
  ks_memlimit = memlimit;
}

void cry_keystore_kdf_limits_reset(void) {
  ks_opslimit = crypto_pwhash_argon2id_OPSLIMIT_MODERATE;
  ks_memlimit = crypto_pwhash_argon2id_MEMLIMIT_MODERATE;
}

/* ---- Header ---- */

static bool ks_is_zero(const uint8_t *p, size_t len) {
  uint8_t acc = 0;
  for (size_t i = 0; i < len; i++) {
    acc |= p[i];
  }
  return acc == 0;
}

static bool ks_kdf_params_ok(const struct ks_header *h) {
  switch (h->kdf) {
  case KS_KDF_NONE:
    return h->opslimit == 0 && h->memlimit == 0 && ks_is_zero(h->salt, sizeof h->salt);
  case KS_KDF_ARGON2ID:
    return h->opslimit >= crypto_pwhash_argon2id_OPSLIMIT_MIN && h->opslimit <= KS_OPSLIMIT_MAX &&
           h->memlimit >= crypto_pwhash_argon2id_MEMLIMIT_MIN && h->memlimit <= KS_MEMLIMIT_MAX;
  default:
    return false;
  }
}

static void ks_header_encode(uint8_t img[KS_FILE_BYTES], const struct ks_header *h) {
  assert(ks_kdf_params_ok(h));
  memcpy(img, KS_MAGIC, KS_MAGIC_BYTES);
  img[KS_OFF_KDF] = h->kdf;
  base_put_u64be(img + KS_OFF_OPSLIMIT, h->opslimit);
  base_put_u64be(img + KS_OFF_MEMLIMIT, h->memlimit);
  memcpy(img + KS_OFF_SALT, h->salt, sizeof h->salt);
  memcpy(img + KS_OFF_NONCE, h->nonce, sizeof h->nonce);
  memcpy(img + KS_OFF_SIGN_PK, h->sign_pk, sizeof h->sign_pk);
  memcpy(img + KS_OFF_BOX_PK, h->box_pk, sizeof h->box_pk);
}

/* Returns OK or ERR_MALFORMED: wrong magic, unknown kdf, limits out of
 * bounds, or a signing key no one could have generated. */
static int ks_header_decode(struct ks_header *h, const uint8_t img[KS_FILE_BYTES]) {
  if (memcmp(img, KS_MAGIC, KS_MAGIC_BYTES) != 0) {
    return ERR_MALFORMED;
  }
  h->kdf = img[KS_OFF_KDF];
  h->opslimit = base_get_u64be(img + KS_OFF_OPSLIMIT);
  h->memlimit = base_get_u64be(img + KS_OFF_MEMLIMIT);
  memcpy(h->salt, img + KS_OFF_SALT, sizeof h->salt);
  memcpy(h->nonce, img + KS_OFF_NONCE, sizeof h->nonce);
  memcpy(h->sign_pk, img + KS_OFF_SIGN_PK, sizeof h->sign_pk);
  memcpy(h->box_pk, img + KS_OFF_BOX_PK, sizeof h->box_pk);
  if (!ks_kdf_params_ok(h)) {
    return ERR_MALFORMED;
  }
  struct pubkey pk;
  memcpy(pk.b, h->sign_pk, sizeof pk.b);
  if (cry_pubkey_check(&pk) != OK) {
    return ERR_MALFORMED;
  }
  return OK;
}

/* The AEAD key for h: Argon2id of the passphrase, or zeros for kdf none.
 * Returns OK or ERR_NOMEM (Argon2id could not get its memory). */
static int ks_derive_key(uint8_t key[CRY_AEAD_KEY_BYTES], const struct ks_header *h,
                         const char *passphrase) {
  assert(ks_kdf_params_ok(h));
  if (h->kdf == KS_KDF_NONE) {
    sodium_memzero(key, CRY_AEAD_KEY_BYTES);
    return OK;
  }
  assert(h->kdf == KS_KDF_ARGON2ID && passphrase != NULL);
  if (crypto_pwhash(key, CRY_AEAD_KEY_BYTES, passphrase, strlen(passphrase), h->salt, h->opslimit,
                    (size_t)h->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return ERR_NOMEM;
  }
  return OK;
}

/* ---- Writing ---- */

static int ks_image_build(uint8_t img[KS_FILE_BYTES], const struct cry_keys *k,
                          const char *passphrase) {
  struct ks_header h = {.kdf = KS_KDF_NONE};
  if (passphrase != NULL) {
    h.kdf = KS_KDF_ARGON2ID;
    h.opslimit = ks_opslimit;
    h.memlimit = ks_memlimit;
    randombytes_buf(h.salt, sizeof h.salt);
  }
  randombytes_buf(h.nonce, sizeof h.nonce);
  memcpy(h.sign_pk, k->sign_pk, sizeof h.sign_pk);
  memcpy(h.box_pk, k->box_pk, sizeof h.box_pk);
  ks_header_encode(img, &h);

  struct ks_secret *s = sodium_malloc(sizeof *s);
  if (s == NULL) {
    return ERR_NOMEM;
  }
  int rc = ks_derive_key(s->key, &h, passphrase);
  if (rc != OK) {
    goto fail;
  }
  cry_aead_encrypt(img + KS_OFF_SEALED, k->seed, sizeof k->seed, img, KS_HEADER_BYTES, h.nonce,
                   s->key);
  /* The same checks a reader makes, before anything reaches the disk. */
  struct ks_header check;
  rc = ks_header_decode(&check, img);
  assert(rc == OK && check.kdf == h.kdf);
fail:
  sodium_free(s);
  return rc;
}

static int ks_write_all(int fd, const uint8_t *p, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return ERR_IO;
    }
    p += n;
    len -= (size_t)n;
  }
  return OK;
}

/* Makes the new directory entry durable. Some file systems cannot fsync a
 * directory (EINVAL); the entry is then as durable as they allow. */
static int ks_dir_sync(const char *path) {
  char dir[PATH_MAX] = ".";
  const char *slash = strrchr(path, '/');
  if (slash != NULL) {
    /* Keep the slash itself when the file is in the root directory. */
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= sizeof dir) {
      return ERR_IO;
    }
    memcpy(dir, path, len);
    dir[len] = '\0';
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return ERR_IO;
  }
  int rc = fsync(fd) == 0 || errno == EINVAL ? OK : ERR_IO;
  close(fd);
  return rc;
}

/* Moves the finished temporary file to path. On success tmp is gone; on
 * failure it is still there for the caller to remove. */
static int ks_file_place(const char *tmp, const char *path, bool overwrite) {
  if (overwrite) {
    return rename(tmp, path) == 0 ? OK : ERR_IO;
  }
  if (link(tmp, path) != 0) {
    return errno == EEXIST ? ERR_EXISTS : ERR_IO;
  }
  (void)unlink(tmp); /* path holds the data now; a stray tmp is only litter */
  return OK;
}

static int ks_file_publish(const char *path, const uint8_t img[KS_FILE_BYTES], bool overwrite) {
  char tmp[PATH_MAX];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
  if (n < 0 || (size_t)n >= sizeof tmp) {
    return ERR_IO;
  }
  int fd = mkstemp(tmp);
  if (fd < 0) {
    return ERR_IO;
  }
  /* mkstemp already uses 0600; fchmod pins it whatever the umask. */
  int rc = fchmod(fd, S_IRUSR | S_IWUSR) == 0 ? OK : ERR_IO;
  if (rc == OK) {
    rc = ks_write_all(fd, img, KS_FILE_BYTES);
  }
  if (rc == OK && fsync(fd) != 0) {
    rc = ERR_IO;
  }
  if (close(fd) != 0 && rc == OK) {
    rc = ERR_IO;
  }
  if (rc == OK) {
    rc = ks_file_place(tmp, path, overwrite);
  }
  if (rc != OK) {
    (void)unlink(tmp);
    return rc;
  }
  return ks_dir_sync(path);
}

int cry_keystore_write(const char *path, const struct cry_keys *k, const char *passphrase,
                       bool overwrite) {
  assert(path != NULL && k != NULL);
  /* Fail before spending a second in Argon2id; ks_file_place checks again
   * atomically. */
  struct stat st;
  if (!overwrite && lstat(path, &st) == 0) {
    return ERR_EXISTS;
  }
  uint8_t img[KS_FILE_BYTES];
  int rc = ks_image_build(img, k, passphrase);
  if (rc != OK) {
    return rc;
  }
  return ks_file_publish(path, img, overwrite);
}

/* ---- Reading ---- */

static int ks_read_all(int fd, uint8_t *p, size_t len) {
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return ERR_IO;
    }
    if (n == 0) {
      return ERR_MALFORMED; /* shrank since fstat */
    }
    p += n;
    len -= (size_t)n;
  }
  return OK;
}

/* Reads and decodes the file. Returns OK, ERR_IO or ERR_MALFORMED. */
static int ks_file_load(uint8_t img[KS_FILE_BYTES], struct ks_header *h, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ERR_IO;
  }
  struct stat st;
  int rc = OK;
  if (fstat(fd, &st) != 0) {
    rc = ERR_IO;
  } else if (!S_ISREG(st.st_mode) || st.st_size != KS_FILE_BYTES) {
    rc = ERR_MALFORMED;
  } else {
    rc = ks_read_all(fd, img, KS_FILE_BYTES);
  }
  close(fd);
  if (rc != OK) {
    return rc;
  }
  return ks_header_decode(h, img);
}

/* Derives the keys from the opened seed; they must be the ones the header
 * names. Returns OK, ERR_NOMEM or ERR_MALFORMED. */
static int ks_keys_rebuild(struct cry_keys **out, const struct ks_header *h,
                           const uint8_t seed[CRY_SEED_BYTES]) {
  struct cry_keys *k = cry_keys_from_seed(seed);
  if (k == NULL) {
    return ERR_NOMEM;
  }
  if (memcmp(k->sign_pk, h->sign_pk, sizeof h->sign_pk) != 0 ||
      memcmp(k->box_pk, h->box_pk, sizeof h->box_pk) != 0) {
    cry_keys_destroy(k);
    return ERR_MALFORMED;
  }
  *out = k;
  return OK;
}

int cry_keystore_read(struct cry_keys **out, const char *path, const char *passphrase) {
  assert(out != NULL && path != NULL);
  *out = NULL;
  uint8_t img[KS_FILE_BYTES];
  struct ks_header h;
  int rc = ks_file_load(img, &h, path);
  if (rc != OK) {
    return rc;
  }
  if (h.kdf == KS_KDF_ARGON2ID && passphrase == NULL) {
    return ERR_BAD_PASSPHRASE;
  }
  struct ks_secret *s = sodium_malloc(sizeof *s);
  if (s == NULL) {
    return ERR_NOMEM;
  }
  rc = ks_derive_key(s->key, &h, passphrase);
  if (rc != OK) {
    goto fail;
  }
  rc = cry_aead_decrypt(s->seed, img + KS_OFF_SEALED, KS_SEALED_BYTES, img, KS_HEADER_BYTES,
                        h.nonce, s->key);
  if (rc != OK) {
    /* Without a passphrase only damage can break the tag. */
    rc = h.kdf == KS_KDF_NONE ? ERR_MALFORMED : ERR_BAD_PASSPHRASE;
    goto fail;
  }
  rc = ks_keys_rebuild(out, &h, s->seed);
fail:
  sodium_free(s);
  return rc;
}

int cry_keystore_read_public(const char *path, struct pubkey *sign_pk, struct boxkey *box_pk) {
  assert(path != NULL && sign_pk != NULL && box_pk != NULL);
  uint8_t img[KS_FILE_BYTES];
  struct ks_header h;
  int rc = ks_file_load(img, &h, path);
  if (rc != OK) {
    return rc;
  }
  memcpy(sign_pk->b, h.sign_pk, sizeof sign_pk->b);
  memcpy(box_pk->b, h.box_pk, sizeof box_pk->b);
  return OK;
}
