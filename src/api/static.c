/*
 * static — the portal's files: GET and HEAD of "/" (index.html) and of
 * "/assets/..." from the web directory the server was given.
 *
 * A request path is checked before any file system call, against a grammar
 * rather than a list of bad patterns: "/" or "/assets/" then 1 to
 * API_STATIC_DEPTH_MAX segments of [A-Za-z0-9._-], none empty and none
 * starting with '.', API_STATIC_PATH_MAX bytes at most. So "..", ".",
 * hidden files, '%' escapes (an encoded dot or slash never gets decoded),
 * backslashes, NUL, doubled slashes and absolute paths are all malformed
 * (400 BAD_REQUEST) without a special case each. The last segment's
 * extension must be in a fixed table, which also gives its Content-Type;
 * any other is 404 NOT_FOUND.
 *
 * The file is then opened one segment at a time with openat() and
 * O_NOFOLLOW from a descriptor of the web directory: a symbolic link
 * anywhere below the web directory is refused (ELOOP or ENOTDIR), so no
 * name resolves outside it whatever the directory holds, and nothing is
 * checked by name and then opened by another lookup. The last open uses
 * O_NONBLOCK so that a FIFO cannot stall the connection; fstat() must then
 * show a regular file of at most LIM_HTTP_FILE_MAX bytes. Every refusal of
 * an existing name is NOT_FOUND, the same answer as for a missing one.
 *
 * The open descriptor goes to the server in the reply, which sends it
 * without copying it into memory. Files are revalidated, never cached
 * blindly: "Cache-Control: no-cache" and an ETag of size, modification
 * time and inode, answered 304 when If-None-Match names it. The server adds
 * the portal's security headers (API_PORTAL_CSP, nosniff) to these
 * replies. This file is pure path logic and system calls: no library types.
 */
#include "api/api_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATIC_PREFIX "/assets/"

struct static_type {
  const char *ext;
  const char *content_type;
};

/* What the portal is made of; anything else in the web directory is not
 * served. */
static const struct static_type types[] = {
    {"html", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
    {"txt", "text/plain; charset=utf-8"},
};

static bool segment_char_ok(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '.' || ch == '_' || ch == '-';
}

/* Checks the segments of s (what follows "/assets/"): OK or BAD_REQUEST. */
static int segments_check(const char *s) {
  size_t depth = 0;
  const char *seg = s;
  for (;;) {
    size_t n = 0;
    while (seg[n] != '\0' && seg[n] != '/') {
      if (!segment_char_ok(seg[n])) {
        return ERR_BAD_REQUEST;
      }
      n++;
    }
    if (n == 0 || seg[0] == '.' || n > API_STATIC_SEGMENT_MAX) {
      return ERR_BAD_REQUEST;
    }
    depth++;
    if (depth > API_STATIC_DEPTH_MAX) {
      return ERR_BAD_REQUEST;
    }
    if (seg[n] == '\0') {
      return OK;
    }
    seg += n + 1;
  }
}

int api_static_path(char *rel, size_t cap, const char *path) {
  assert(rel != NULL && cap > 0 && path != NULL);
  rel[0] = '\0';
  const char *file = NULL;
  if (strcmp(path, "/") == 0) {
    file = "index.html";
  } else if (strncmp(path, STATIC_PREFIX, sizeof(STATIC_PREFIX) - 1) == 0) {
    if (strnlen(path, API_STATIC_PATH_MAX + 1) > API_STATIC_PATH_MAX ||
        segments_check(path + sizeof(STATIC_PREFIX) - 1) != OK) {
      return ERR_BAD_REQUEST;
    }
    file = path + 1; /* "assets/..." */
  } else {
    return ERR_ROUTE;
  }
  size_t n = strlen(file);
  if (n >= cap) {
    return ERR_BAD_REQUEST;
  }
  memcpy(rel, file, n + 1);
  return OK;
}

const char *api_static_type(const char *rel) {
  const char *slash = strrchr(rel, '/');
  const char *name = slash == NULL ? rel : slash + 1;
  const char *dot = strrchr(name, '.');
  if (dot == NULL || dot == name) {
    return NULL;
  }
  for (size_t i = 0; i < ARRAY_LEN(types); i++) {
    if (strcmp(dot + 1, types[i].ext) == 0) {
      return types[i].content_type;
    }
  }
  return NULL;
}

/* Opens the next segment of rel below dfd (which it closes): a directory
 * for every segment but the last. *fd gets the new descriptor. */
static int open_below(int dfd, const char *seg, size_t n, bool last, int *fd) {
  char name[API_STATIC_SEGMENT_MAX + 1];
  assert(n > 0 && n <= API_STATIC_SEGMENT_MAX);
  memcpy(name, seg, n);
  name[n] = '\0';
  int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
  flags |= last ? O_NONBLOCK : O_DIRECTORY;
  *fd = openat(dfd, name, flags);
  close(dfd);
  return *fd < 0 ? ERR_NOT_FOUND : OK;
}

int api_static_open(int *fd, struct stat *st, const char *web_dir, const char *rel) {
  assert(fd != NULL && st != NULL && web_dir != NULL && rel != NULL);
  *fd = -1;
  int dfd = open(web_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    return ERR_NOT_FOUND;
  }
  const char *seg = rel;
  for (;;) {
    const char *slash = strchr(seg, '/');
    size_t n = slash == NULL ? strlen(seg) : (size_t)(slash - seg);
    int next = -1;
    if (n == 0 || n > API_STATIC_SEGMENT_MAX) {
      close(dfd); /* api_static_path never makes one: refuse, don't assert */
      return ERR_NOT_FOUND;
    }
    if (open_below(dfd, seg, n, slash == NULL, &next) != OK) {
      return ERR_NOT_FOUND;
    }
    if (slash == NULL) {
      *fd = next;
      break;
    }
    dfd = next;
    seg = slash + 1;
  }
  bool regular = fstat(*fd, st) == 0 && S_ISREG(st->st_mode);
  if (regular && (uint64_t)st->st_size > LIM_HTTP_FILE_MAX) {
    base_log(BASE_LOG_WARN, "api", "a portal file is over %u bytes: not served",
             (unsigned)LIM_HTTP_FILE_MAX);
    regular = false;
  }
  if (!regular) {
    close(*fd);
    *fd = -1;
    return ERR_NOT_FOUND;
  }
  return OK;
}

void api_static_etag(char out[API_ETAG_MAX], const struct stat *st) {
  snprintf(out, API_ETAG_MAX, "\"%llx-%llx.%lx-%llx\"", (unsigned long long)st->st_size,
           (unsigned long long)st->st_mtim.tv_sec, (unsigned long)st->st_mtim.tv_nsec,
           (unsigned long long)st->st_ino);
}

bool api_static_etag_match(const char *if_none_match, const char *etag) {
  if (if_none_match == NULL) {
    return false;
  }
  size_t elen = strlen(etag);
  const char *p = if_none_match;
  while (*p != '\0') {
    while (*p == ' ' || *p == '\t' || *p == ',') {
      p++;
    }
    size_t n = strcspn(p, ",");
    size_t t = n;
    while (t > 0 && (p[t - 1] == ' ' || p[t - 1] == '\t')) {
      t--;
    }
    const char *tag = p;
    if (t >= 2 && tag[0] == 'W' && tag[1] == '/') {
      tag += 2; /* a weak comparison, as If-None-Match asks */
      t -= 2;
    }
    if ((t == 1 && tag[0] == '*') || (t == elen && t > 0 && memcmp(tag, etag, t) == 0)) {
      return true;
    }
    p += n;
  }
  return false;
}

int api_h_static(struct api_ctx *c) {
  const struct api_request *req = c->req;
  assert(req->web_dir != NULL);
  char rel[API_STATIC_PATH_MAX + 1];
  int rc = api_static_path(rel, sizeof(rel), req->path);
  if (rc == ERR_BAD_REQUEST) {
    c->message = "a portal path is \"/\" or \"/assets/\" and names made of letters, digits, "
                 "'.', '_' and '-', none starting with '.'";
    return rc;
  }
  assert(rc == OK);
  const char *type = api_static_type(rel);
  if (type == NULL) {
    c->message = "no such portal file";
    return ERR_NOT_FOUND;
  }
  struct stat st;
  int fd = -1;
  if (api_static_open(&fd, &st, req->web_dir, rel) != OK) {
    c->message = "no such portal file";
    return ERR_NOT_FOUND;
  }
  c->file.portal = true;
  api_static_etag(c->file.etag, &st);
  if (api_static_etag_match(req->if_none_match, c->file.etag)) {
    close(fd);
    c->status = 304;
    c->content_type = type;
    return OK;
  }
  c->file.fd = fd;
  c->file.open = true;
  c->file.len = (uint64_t)st.st_size;
  c->content_type = type;
  return OK;
}
