/*
 * server — libmicrohttpd glue: sockets in, api_route out.
 *
 * A thread per connection, so that POST /v1/txs?wait=commit may block in
 * node_tx_wait without stalling anyone else; connections, header memory
 * and idle time are bounded by the daemon's options (beyond the header
 * memory libmicrohttpd answers 431/413 itself).
 *
 * Each request gets a struct conn_req from the URI log callback, which sees
 * the raw request target before libmicrohttpd splits and decodes it: the
 * router parses path and query itself, the same way for sockets, tests and
 * the fuzzer. The body accumulates there up to LIM_HTTP_BODY_MAX. A larger
 * declared Content-Length is refused with 413 before any body is read; a
 * chunked body that grows past the limit is drained without being kept and
 * answered 413, and one that goes on long after (16x the limit) has its
 * connection closed. The request context is freed by the completion
 * callback, which libmicrohttpd calls for every request the URI callback
 * saw, however it ended.
 *
 * The portal's files (static.c) come from the web directory: the
 * environment's MEDCHAIN_WEB_DIR when set, else the build's own output
 * (MEDCHAIN_WEB_DIR, compiled in). A file answer is sent from its open
 * descriptor, with the portal's Content-Security-Policy and a validator
 * instead of no-store. Every answer carries X-Content-Type-Options:
 * nosniff.
 *
 * GET /v1/events streams: the handler subscribes to the event hub
 * (events.c) and this file answers with a callback response whose reader
 * blocks at most API_EVENTS_WAIT_MS per call. Stopping ends every stream
 * before libmicrohttpd joins the connection threads, so it does not hang.
 */
#include "api/api_internal.h"

#include <arpa/inet.h>
#include <assert.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MEDCHAIN_WEB_DIR
#define MEDCHAIN_WEB_DIR "web"
#endif

#define CONN_TIMEOUT_S 30u
/* A chunked body past the limit is drained this far, then cut off. */
#define DRAIN_MAX ((uint64_t)LIM_HTTP_BODY_MAX * 16u)

struct api_server {
  struct MHD_Daemon *daemon;
  struct node *node;
  struct api_metrics metrics;
  struct api_events *events; /* NULL: /v1/events answers UNAVAILABLE */
  char *web_dir;             /* the portal's files */
};

struct conn_req {
  char *uri; /* raw request target: path and query */
  uint8_t *body;
  size_t len;
  size_t cap;
  uint64_t received; /* body bytes seen, kept or not */
  bool started;      /* the handler has seen the headers */
  bool oversize;
  size_t limit; /* body bytes this request may carry (api_body_limit) */
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  (void)cls;
  (void)conn;
  struct conn_req *r = calloc(1, sizeof(*r));
  if (r != NULL && uri != NULL) {
    r->uri = strdup(uri);
  }
  return r; /* NULL or without uri: the handler answers OUT_OF_MEMORY */
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)conn;
  (void)toe;
  struct conn_req *r = *req_cls;
  if (r != NULL) {
    free(r->uri);
    free(r->body);
    free(r);
  }
  *req_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt,
                                                             va_list ap) {
  (void)cls;
  char line[256];
  vsnprintf(line, sizeof(line), fmt, ap);
  line[strcspn(line, "\r\n")] = '\0';
  base_log(BASE_LOG_DEBUG, "api", "httpd: %s", line);
}

/* ---- request bodies ------------------------------------------------------------ */

static bool declared_oversize(struct MHD_Connection *conn, size_t limit) {
  const char *cl =
      MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  uint64_t n = 0;
  return cl != NULL && base_parse_u64(&n, cl) == OK && n > limit;
}

static void body_take(struct conn_req *r, const char *data, size_t n) {
  r->received += n;
  if (r->oversize) {
    return;
  }
  if (n > r->limit - r->len) {
    r->oversize = true;
    return;
  }
  if (r->len + n > r->cap) {
    size_t cap = r->cap == 0 ? 4096 : r->cap;
    while (cap < r->len + n) {
      cap *= 2;
    }
    cap = cap > r->limit ? r->limit : cap;
    uint8_t *grown = realloc(r->body, cap);
    if (grown == NULL) {
      r->oversize = true; /* cannot keep it: refuse it rather than guess */
      return;
    }
    r->body = grown;
    r->cap = cap;
  }
  memcpy(r->body + r->len, data, n);
  r->len += n;
}

/* ---- answers ------------------------------------------------------------------- */

/* The headers of every answer but an event stream: its type, caching, and
 * for the portal its policy and validator. */
static enum MHD_Result add_headers(struct MHD_Response *resp, const struct api_reply *rep) {
  const struct api_file *f = &rep->file;
  enum MHD_Result ok =
      MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
  if (ok == MHD_YES) {
    ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                 f->portal ? "no-cache" : "no-store");
  }
  if (ok == MHD_YES) {
    ok = MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  }
  if (ok == MHD_YES && f->portal) {
    ok = MHD_add_response_header(resp, "Content-Security-Policy", API_PORTAL_CSP);
  }
  if (ok == MHD_YES && f->portal) {
    ok = MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  }
  if (ok == MHD_YES && f->etag[0] != '\0') {
    ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, f->etag);
  }
  for (uint8_t i = 0; ok == MHD_YES && i < rep->nheaders; i++) {
    ok = MHD_add_response_header(resp, rep->headers[i].name, rep->headers[i].value);
  }
  return ok;
}

static enum MHD_Result queue_reply(struct MHD_Connection *conn, struct api_reply *rep) {
  static const char nomem[] =
      "{\"error\":{\"code\":\"OUT_OF_MEMORY\",\"message\":\"out of memory\"}}\n";
  struct MHD_Response *resp = NULL;
  if (rep->file.open) {
    resp = MHD_create_response_from_fd64(rep->file.len, rep->file.fd);
    if (resp != NULL) {
      rep->file.open = false; /* the response closes it */
    }
  } else if (rep->body != NULL) {
    resp = MHD_create_response_from_buffer(rep->len, rep->body, MHD_RESPMEM_MUST_FREE);
    if (resp != NULL) {
      rep->body = NULL; /* the response frees it */
    }
  }
  if (resp == NULL) {
    rep->status = err_http_status(ERR_NOMEM);
    rep->content_type = "application/json";
    api_reply_free(rep); /* closes a file the response could not take */
    memset(&rep->file, 0, sizeof(rep->file));
    resp =
        MHD_create_response_from_buffer(sizeof(nomem) - 1, (void *)nomem, MHD_RESPMEM_PERSISTENT);
  }
  api_reply_free(rep);
  if (resp == NULL) {
    return MHD_NO;
  }
  enum MHD_Result ok = add_headers(resp, rep);
  if (ok == MHD_YES) {
    ok = MHD_queue_response(conn, (unsigned int)rep->status, resp);
  }
  MHD_destroy_response(resp);
  return ok;
}

/* ---- event streams --------------------------------------------------------------- */

struct stream {
  struct api_sub *sub;
  int fd; /* the connection's socket, or -1 */
};

/* True when the client has closed its end. libmicrohttpd does not look at
 * the socket while the reader has nothing to send, so an idle stream would
 * hold its subscriber slot until the next write failed. */
static bool stream_gone(const struct stream *st) {
  char c;
  return st->fd >= 0 && recv(st->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  struct stream *st = cls;
  if (stream_gone(st)) {
    return (ssize_t)MHD_CONTENT_READER_END_OF_STREAM;
  }
  ssize_t n = api_events_read(st->sub, buf, max, API_EVENTS_WAIT_MS);
  return n < 0 ? (ssize_t)MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void stream_free(void *cls) {
  struct stream *st = cls;
  api_events_unsubscribe(st->sub);
  free(st);
}

/* Answers with the subscription's stream; the reply's text is dropped (the
 * stream starts with the same retry line). The response owns sub. */
static enum MHD_Result queue_stream(struct MHD_Connection *conn, struct api_reply *rep,
                                    struct api_sub *sub) {
  assert(rep->status == 200);
  api_reply_free(rep);
  struct stream *st = malloc(sizeof(*st));
  struct MHD_Response *resp = NULL;
  if (st != NULL) {
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, stream_read, st, stream_free);
  }
  if (resp == NULL) {
    free(st);
    api_events_unsubscribe(sub);
    return MHD_NO;
  }
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  st->sub = sub;
  st->fd = ci != NULL ? ci->connect_fd : -1;
  enum MHD_Result ok =
      MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
  if (ok == MHD_YES) {
    ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  }
  if (ok == MHD_YES) {
    ok = MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  }
  if (ok == MHD_YES) {
    ok = MHD_queue_response(conn, MHD_HTTP_OK, resp);
  }
  MHD_destroy_response(resp);
  return ok;
}

static enum MHD_Result answer(struct api_server *s, struct MHD_Connection *conn, struct conn_req *r,
                              const char *method) {
  char *query = strchr(r->uri, '?');
  if (query != NULL) {
    *query++ = '\0';
  }
  struct api_request req = {
      .method = method,
      .path = r->uri,
      .query = query,
      .content_type =
          MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
      .body = r->body,
      .body_len = r->len,
      .body_oversize = r->oversize,
      .auth_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Medchain-Key"),
      .auth_timestamp = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Medchain-Timestamp"),
      .auth_nonce = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Medchain-Nonce"),
      .auth_signature = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Medchain-Signature"),
      .reason = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Medchain-Reason"),
      .web_dir = s->web_dir,
      .if_none_match =
          MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH),
      .accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
      .host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
  };
  struct api_stream stream = {.hub = s->events};
  req.stream = &stream;
  struct api_reply rep;
  api_route(s->node, &s->metrics, &req, &rep);
  if (stream.sub != NULL) {
    return queue_stream(conn, &rep, stream.sub);
  }
  return queue_reply(conn, &rep);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls) {
  (void)url; /* decoded and split by libmicrohttpd: the router uses r->uri */
  (void)version;
  struct api_server *s = cls;
  struct conn_req *r = *req_cls;
  if (r == NULL || r->uri == NULL) {
    struct api_reply rep = {.status = err_http_status(ERR_NOMEM)};
    return queue_reply(conn, &rep);
  }
  if (!r->started) {
    r->started = true;
    r->limit = api_body_limit(method, r->uri);
    if (declared_oversize(conn, r->limit)) {
      r->oversize = true;
      return answer(s, conn, r, method); /* before reading any of it */
    }
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    body_take(r, upload_data, *upload_data_size);
    *upload_data_size = 0;
    return r->oversize && r->received > DRAIN_MAX ? MHD_NO : MHD_YES;
  }
  return answer(s, conn, r, method);
}

/* ---- lifecycle ----------------------------------------------------------------- */

/* The portal's directory: MEDCHAIN_WEB_DIR from the environment, else the
 * one the build installed the portal in. A directory without index.html
 * still starts the server: its portal paths answer NOT_FOUND. */
static char *server_web_dir(void) {
  const char *env = getenv("MEDCHAIN_WEB_DIR");
  const char *dir = env != NULL && env[0] != '\0' ? env : MEDCHAIN_WEB_DIR;
  struct stat st;
  int fd = -1;
  if (api_static_open(&fd, &st, dir, "index.html") == OK) {
    close(fd);
  } else {
    base_log(BASE_LOG_WARN, "api", "no portal in %s: / answers NOT_FOUND", dir);
  }
  return strdup(dir);
}

/* The event hub and its commit hook. Without them /v1/events answers
 * UNAVAILABLE and everything else works. */
static void server_events_start(struct api_server *s) {
  if (s->node == NULL || api_events_create(&s->events, s->node) != OK) {
    return;
  }
  if (node_on_commit(s->node, api_events_on_commit, s->events) != OK) {
    base_log(BASE_LOG_WARN, "api", "no commit hook left: /v1/events is unavailable");
    api_events_destroy(s->events);
    s->events = NULL;
  }
}

int api_server_start(struct api_server **out, struct node *n, const char *host, uint16_t port) {
  assert(out != NULL && host != NULL);
  *out = NULL;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    return ERR_CONFIG;
  }
  if (api_auth_replay_init() != OK) {
    return ERR_NOMEM;
  }
  struct api_server *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    return ERR_NOMEM;
  }
  s->node = n;
  s->web_dir = server_web_dir();
  if (s->web_dir == NULL) {
    free(s);
    return ERR_NOMEM;
  }
  api_metrics_init(&s->metrics);
  server_events_start(s);
  s->daemon = MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, port,
      NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, MHD_OPTION_SOCK_ADDR,
      (const struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
      (unsigned int)LIM_HTTP_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      (size_t)LIM_HTTP_HEADER_MAX, MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT_S,
      MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
      MHD_OPTION_END);
  if (s->daemon == NULL) {
    base_log(BASE_LOG_ERROR, "api", "cannot listen on %s:%u", host, (unsigned)port);
    free(s->web_dir);
    free(s); /* the hub stays: the node's hook points at it */
    return ERR_IO;
  }
  base_log(BASE_LOG_INFO, "api", "listening on %s:%u", host, (unsigned)api_server_port(s));
  *out = s;
  return OK;
}

uint16_t api_server_port(const struct api_server *s) {
  assert(s != NULL && s->daemon != NULL);
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  return info == NULL ? 0 : info->port;
}

void api_server_stop(struct api_server *s) {
  if (s == NULL) {
    return;
  }
  api_events_stop(s->events); /* streams end, their threads can be joined */
  MHD_stop_daemon(s->daemon);
  api_events_destroy(s->events);
  free(s->web_dir);
  free(s);
}
