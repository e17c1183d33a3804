/*
 * operator — the keys a node holds to act for its organizations: each an
 * admin identity's keystore named by "operator_key" in HOME/config. Which
 * organization a key speaks for is read from the chain at each use (a key
 * rotated away or an admin suspended stops working at once).
 *
 * Nonces: an operator's next nonce is the committed one plus what the
 * mempool holds of it; op_mu is held from reading it to the submission so
 * two API threads never sign the same nonce. A refusal for the nonce
 * (REPLAY, NONCE_GAP, DUPLICATE_TX: a block moved underneath) is retried
 * once with a fresh count.
 */
#include "node/node_internal.h"

#include "contracts/contracts.h"
#include "crypto/crypto.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int node_operators_load(struct node *n) {
  pthread_mutex_init(&n->op_mu, NULL);
  n->ops_ready = true;
  const char *pass = getenv("MEDCHAIN_OPERATOR_PASSPHRASE");
  for (uint16_t i = 0; i < n->cfg.noperators; i++) {
    const char *p = n->cfg.operator_keys[i];
    char path[2 * NODE_PATH_MAX + 2];
    int len = p[0] == '/' ? snprintf(path, sizeof path, "%s", p)
                          : snprintf(path, sizeof path, "%s/%s", n->cfg.home, p);
    if (len < 0 || (size_t)len >= sizeof path) {
      return ERR_CONFIG;
    }
    struct node_op *op = &n->ops[n->nops];
    int rc = cry_keystore_read(&op->keys, path, pass);
    if (rc != OK) {
      base_log(BASE_LOG_ERROR, "node", "operator_key %u: %s", (unsigned)i + 1, err_name(rc));
      return rc;
    }
    cry_keys_sign_pk(op->keys, &op->pk);
    cry_keys_box_pk(op->keys, &op->box);
    n->nops++;
  }
  return OK;
}

void node_operators_free(struct node *n) {
  for (uint16_t i = 0; i < n->nops; i++) {
    cry_keys_destroy(n->ops[i].keys);
    n->ops[i].keys = NULL;
  }
  n->nops = 0;
  if (n->ops_ready) {
    pthread_mutex_destroy(&n->op_mu);
    n->ops_ready = false;
  }
}

static bool value_is(const struct codec_value *v, const char *z) {
  return v->bytes.len == strlen(z) && memcmp(v->bytes.ptr, z, v->bytes.len) == 0;
}

/* Whether operator i is an active admin, of org when org is not NULL. */
static bool op_acts_for(struct state *st, const struct node_op *op, const struct hash32 *org,
                        struct node_operator_info *out) {
  struct hash32 id;
  if (ctr_reader_identify(st, &op->pk, &id) != OK) {
    return false;
  }
  struct codec_value kind, o;
  if (ctr_get_field(st, CTR_IDENTITY, &id, "kind", &kind) != OK ||
      !value_is(&kind, CTR_ROLE_ADMIN) || ctr_get_field(st, CTR_IDENTITY, &id, "org", &o) != OK) {
    return false;
  }
  if (org != NULL && !base_hash_eq(&o.id, org)) {
    return false;
  }
  out->id = id;
  out->org = o.id;
  out->pk = op->pk;
  out->box = op->box;
  return true;
}

static int op_find(struct node *n, struct state *st, const struct hash32 *org,
                   struct node_operator_info *out, const struct node_op **op) {
  for (uint16_t i = 0; i < n->nops; i++) {
    if (op_acts_for(st, &n->ops[i], org, out)) {
      if (op != NULL) {
        *op = &n->ops[i];
      }
      return OK;
    }
  }
  return ERR_NO_OPERATOR;
}

int node_operator_find(struct node *n, const struct hash32 *org, struct node_operator_info *out) {
  assert(n != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  if (n->nops == 0) {
    return ERR_NO_OPERATOR;
  }
  struct node_view *v = NULL;
  int rc = node_view_begin(n, &v);
  if (rc != OK) {
    return rc;
  }
  rc = op_find(n, node_view_state(v), org, out, NULL);
  node_view_end(v);
  return rc;
}

/* Finds the operator and its next nonce: after its highest pending one,
 * or the committed one (not committed + the pending count, which counts
 * entries a block just committed twice until the pool is rechecked and
 * would sign past a gap that never fills). */
static int op_next(struct node *n, const struct hash32 *org, struct node_operator_info *info,
                   const struct node_op **op, uint64_t *nonce) {
  struct node_view *v = NULL;
  int rc = node_view_begin(n, &v);
  if (rc != OK) {
    return rc;
  }
  struct state *st = node_view_state(v);
  rc = op_find(n, st, org, info, op);
  if (rc == OK) {
    rc = ctr_next_nonce(st, &info->id, nonce);
  }
  node_view_end(v);
  if (rc != OK) {
    return rc;
  }
  pthread_mutex_lock(&n->mu);
  *nonce = node_mempool_next_nonce(n->mp, &info->id, *nonce);
  pthread_mutex_unlock(&n->mu);
  return OK;
}

static int op_sign_submit(struct node *n, const struct node_op *op,
                          const struct node_operator_info *info, uint64_t nonce,
                          struct bytes contract, struct bytes method, struct bytes args,
                          struct hash32 *tx_hash) {
  struct tx tx;
  memset(&tx, 0, sizeof tx);
  tx.chain_id = n->chain_id;
  tx.pubkey = op->pk;
  tx.sender = info->id;
  tx.nonce = nonce;
  tx.contract = contract;
  tx.method = method;
  tx.args = args;
  uint8_t *buf = malloc(LIM_TX_BYTES_MAX);
  if (buf == NULL) {
    return ERR_NOMEM;
  }
  size_t len = 0;
  int rc = ledger_tx_sign(&tx, op->keys, buf, LIM_TX_BYTES_MAX, &len);
  if (rc == OK) {
    rc = node_tx_submit(n, buf, len, tx_hash);
  }
  free(buf);
  return rc;
}

int node_operator_submit(struct node *n, const struct hash32 *org, struct bytes contract,
                         struct bytes method, struct bytes args, struct hash32 *tx_hash) {
  assert(n != NULL && tx_hash != NULL);
  memset(tx_hash, 0, sizeof *tx_hash);
  if (n->nops == 0) {
    return ERR_NO_OPERATOR;
  }
  pthread_mutex_lock(&n->op_mu);
  int rc = OK;
  for (int attempt = 0; attempt < 2; attempt++) {
    struct node_operator_info info;
    const struct node_op *op = NULL;
    uint64_t nonce = 0;
    rc = op_next(n, org, &info, &op, &nonce);
    if (rc != OK) {
      break;
    }
    rc = op_sign_submit(n, op, &info, nonce, contract, method, args, tx_hash);
    if (rc != ERR_REPLAY && rc != ERR_NONCE_GAP && rc != ERR_DUPLICATE_TX) {
      break;
    }
  }
  pthread_mutex_unlock(&n->op_mu);
  return rc;
}

const struct cry_keys *node_operator_keys(const struct node *n) {
  return n->nops > 0 ? n->ops[0].keys : NULL;
}
