/*
 * cli_proc — node processes run in the background: spawning them, their
 * pid files, telling whether a recorded pid is still one of ours, stopping
 * them, and waiting for their API to answer.
 *
 * A pid file alone proves nothing (pids are reused), so a recorded pid
 * counts as running only when the process is alive, not a zombie, and its
 * command line mentions "medchain". Processes we spawned ourselves are
 * reaped with waitpid so a node that dies during start-up is noticed at
 * once instead of lingering as a zombie that kill(pid, 0) still finds.
 *
 * The child side of fork() uses only async-signal-safe calls (setsid,
 * dup2, close, sigprocmask, execv, _exit): bench forks while other threads
 * may exist.
 */
#include "cli/cli_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void cli_sleep_ms(uint32_t ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int cli_self_exe(char *out, size_t cap) {
  ssize_t n = readlink("/proc/self/exe", out, cap - 1);
  if (n <= 0 || (size_t)n >= cap - 1) {
    return ERR_IO;
  }
  out[n] = '\0';
  return OK;
}

/* The forked child: becomes `exe node --home HOME` or exits 127. */
__attribute__((noreturn)) static void cli_child_exec(const char *exe, const char *home, bool daemon,
                                                     int nullfd, int logfd) {
  sigset_t none;
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);
  if (daemon) {
    (void)setsid();
  }
  if (dup2(nullfd, STDIN_FILENO) < 0 || dup2(logfd, STDOUT_FILENO) < 0 ||
      dup2(logfd, STDERR_FILENO) < 0) {
    _exit(127);
  }
  long maxfd = sysconf(_SC_OPEN_MAX);
  if (maxfd < 0 || maxfd > 65536) {
    maxfd = 65536;
  }
  for (int fd = 3; fd < (int)maxfd; fd++) {
    (void)close(fd);
  }
  char *argv[] = {(char *)exe, "node", "--home", (char *)home, NULL};
  execv(exe, argv);
  _exit(127);
}

int cli_node_spawn(const char *exe, const char *home, bool daemon, pid_t *out) {
  char log[NODE_PATH_MAX + 16];
  if (cli_path(log, sizeof(log), home, "node.log") != OK) {
    return ERR_OVERSIZE;
  }
  int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (logfd < 0) {
    return ERR_IO;
  }
  int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (nullfd < 0) {
    close(logfd);
    return ERR_IO;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    cli_child_exec(exe, home, daemon, nullfd, logfd);
  }
  close(nullfd);
  close(logfd);
  if (pid < 0) {
    return ERR_IO;
  }
  *out = pid;
  return OK;
}

static int cli_pid_path(char *out, size_t cap, const char *home) {
  return cli_path(out, cap, home, "node.pid");
}

int cli_pid_read(const char *home, pid_t *pid) {
  char path[NODE_PATH_MAX + 16];
  if (cli_pid_path(path, sizeof(path), home) != OK) {
    return ERR_OVERSIZE;
  }
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
  }
  char buf[32] = {0};
  bool got = fgets(buf, sizeof(buf), f) != NULL;
  fclose(f);
  buf[strcspn(buf, "\r\n")] = '\0';
  uint64_t v = 0;
  if (!got || base_parse_u64(&v, buf) != OK || v == 0 || v > INT_MAX) {
    return ERR_MALFORMED;
  }
  *pid = (pid_t)v;
  return OK;
}

int cli_pid_write(const char *home, pid_t pid) {
  char path[NODE_PATH_MAX + 16];
  if (cli_pid_path(path, sizeof(path), home) != OK) {
    return ERR_OVERSIZE;
  }
  char buf[32];
  int n = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);
  return cli_file_write(path, buf, (size_t)n);
}

void cli_pid_remove(const char *home) {
  char path[NODE_PATH_MAX + 16];
  if (cli_pid_path(path, sizeof(path), home) == OK) {
    (void)unlink(path);
  }
}

/* Reads a small /proc/PID/<what> file into buf (NUL-terminated); bytes
 * read, or -1. */
static ssize_t cli_proc_read(pid_t pid, const char *what, char *buf, size_t cap) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, what);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n < 0) {
    return -1;
  }
  buf[n] = '\0';
  return n;
}

/* Alive and not a zombie (a zombie still answers kill(pid, 0)). */
static bool cli_pid_alive(pid_t pid) {
  if (kill(pid, 0) != 0 && errno != EPERM) {
    return false;
  }
  char statline[512];
  if (cli_proc_read(pid, "stat", statline, sizeof(statline)) < 0) {
    return false;
  }
  const char *paren = strrchr(statline, ')');
  if (paren == NULL || paren[1] == '\0') {
    return false;
  }
  char state = paren[2];
  return state != 'Z' && state != 'X';
}

bool cli_pid_is_medchain(pid_t pid) {
  if (pid <= 0 || !cli_pid_alive(pid)) {
    return false;
  }
  char cmd[4096];
  ssize_t n = cli_proc_read(pid, "cmdline", cmd, sizeof(cmd));
  if (n <= 0) {
    return false;
  }
  for (ssize_t i = 0; i < n; i++) {
    if (cmd[i] == '\0') {
      cmd[i] = ' ';
    }
  }
  return strstr(cmd, "medchain") != NULL;
}

pid_t cli_home_pid(const char *home) {
  pid_t pid = 0;
  if (cli_pid_read(home, &pid) != OK || !cli_pid_is_medchain(pid)) {
    return 0;
  }
  return pid;
}

/* True when pid has ended; reaps it when it is our child. */
static bool cli_pid_ended(pid_t pid) {
  int st = 0;
  pid_t r = waitpid(pid, &st, WNOHANG);
  if (r == pid) {
    return true;
  }
  if (r < 0 && errno == ECHILD) {
    return !cli_pid_alive(pid);
  }
  return false;
}

bool cli_pid_wait_exit(pid_t pid, uint32_t timeout_ms) {
  uint64_t deadline = base_mono_ns() + (uint64_t)timeout_ms * 1000000u;
  for (;;) {
    if (cli_pid_ended(pid)) {
      return true;
    }
    if (base_mono_ns() >= deadline) {
      return false;
    }
    cli_sleep_ms(20);
  }
}

bool cli_pid_stop(pid_t pid, uint32_t term_ms) {
  if (kill(pid, SIGTERM) != 0 && errno == ESRCH) {
    (void)cli_pid_ended(pid);
    return false;
  }
  if (cli_pid_wait_exit(pid, term_ms)) {
    return false;
  }
  (void)kill(pid, SIGKILL);
  (void)cli_pid_wait_exit(pid, 5000);
  return true;
}

int cli_node_wait_up(const char *url, pid_t pid, uint32_t timeout_ms) {
  struct api_client *c = NULL;
  if (api_client_create(&c, url) != OK) {
    return ERR_NOMEM;
  }
  uint64_t deadline = base_mono_ns() + (uint64_t)timeout_ms * 1000000u;
  int rc = ERR_TIMEOUT;
  for (;;) {
    uint64_t height = 0;
    if (cli_node_status(c, &height, NULL, 0) == OK) {
      rc = OK;
      break;
    }
    if (pid > 0 && cli_pid_ended(pid)) {
      rc = ERR_UNAVAILABLE;
      break;
    }
    if (base_mono_ns() >= deadline) {
      break;
    }
    cli_sleep_ms(100);
  }
  api_client_destroy(c);
  return rc;
}

void cli_log_tail(const char *path, int lines) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return;
  }
  char buf[4096];
  off_t size = lseek(fd, 0, SEEK_END);
  off_t from = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, from);
  close(fd);
  if (n <= 0) {
    return;
  }
  buf[n] = '\0';
  /* Walk back over `lines` line breaks (ignoring a final one). */
  ssize_t start = n > 0 && buf[n - 1] == '\n' ? n - 1 : n;
  int seen = 0;
  while (start > 0 && seen < lines) {
    start--;
    if (buf[start] == '\n') {
      seen++;
    }
  }
  const char *p = buf + start + (buf[start] == '\n' ? 1 : 0);
  fprintf(stderr, "  --- last lines of %s ---\n", path);
  while (*p != '\0') {
    size_t len = strcspn(p, "\n");
    fprintf(stderr, "  | %.*s\n", (int)len, p);
    p += len + (p[len] == '\n' ? 1 : 0);
  }
}

uint64_t cli_proc_peak_rss_kb(pid_t pid) {
  char buf[4096];
  if (cli_proc_read(pid, "status", buf, sizeof(buf)) < 0) {
    return 0;
  }
  const char *line = strstr(buf, "VmHWM:");
  if (line == NULL) {
    return 0;
  }
  line += strlen("VmHWM:");
  while (*line == ' ' || *line == '\t') {
    line++;
  }
  char num[24];
  size_t len = strspn(line, "0123456789");
  if (len == 0 || len >= sizeof(num)) {
    return 0;
  }
  memcpy(num, line, len);
  num[len] = '\0';
  uint64_t kb = 0;
  return base_parse_u64(&kb, num) == OK ? kb : 0;
}
