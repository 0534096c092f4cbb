/*
 * A cheap many-viewer load client for bench/fanout.ts: one process, one epoll loop,
 * non-blocking sockets. Each connection sends one GET, reads the response head, then reads and
 * discards the body (de-chunking it when the response is chunked), counting bytes.
 *
 *   loadclient HOST PORT PATH N [-0] [-s K DIR] [-p PENDING] [-t MAXSECONDS] [-b READBYTES]
 *
 *   -0            send HTTP/1.0 requests (plain, close-delimited bodies) instead of HTTP/1.1
 *   -s K DIR      save the (de-chunked) bodies of the first K connections to DIR/capture-I.bin
 *   -p PENDING    most connections waiting for their response head at once (default 256)
 *   -t SECONDS    hard limit on the whole run (default 600): the client reports and exits
 *   -b BYTES      read size per recv (default 262144)
 *
 * Commands on stdin (one letter per line): `m` snapshots every connection's body-byte count
 * (prints `MARK i SECONDS`); `q` closes everything, prints the report and exits.
 * Output (stdout): `READY ok=.. failed=.. secs=..` once every connection has its response head
 * or failed; at the end one line per connection
 *   `C id status body wire closed mark0 mark1 ... first_byte_ms`
 * then `DONE`. Build: gcc -O2 -o loadclient loadclient.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_MARKS 8
#define HEAD_MAX 8192

enum { S_IDLE, S_CONNECTING, S_HEAD, S_BODY, S_DONE };
enum { C_SIZE, C_EXT, C_SIZE_LF, C_DATA, C_DATA_CR, C_DATA_LF, C_TRAILER, C_END };

typedef struct {
  int fd;
  int state;
  int status;
  int chunked;
  int closed;      /* the peer closed or the connection failed */
  int failed;      /* never got a response head */
  int cstate;      /* de-chunking state */
  uint64_t chunk_left;
  uint64_t chunk_size;
  int trailer_len; /* chars on the current trailer line */
  char *head;
  int head_len;
  uint64_t body;
  uint64_t wire;
  uint64_t marks[MAX_MARKS];
  double first_byte_ms;
  double start_ms;
  FILE *save;
} Conn;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static Conn *conns;
static int nconns, next_conn, pending, ready_count, failed_count, nmarks;
static int epfd;
static struct sockaddr_in addr;
static char request[512];
static int request_len;
static int save_k;
static const char *save_dir;

static void body_bytes(Conn *c, const unsigned char *p, size_t n) {
  c->body += n;
  if (c->save) fwrite(p, 1, n, c->save);
}

/* De-chunks `n` bytes of a chunked body. */
static void dechunk(Conn *c, const unsigned char *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char ch = p[i];
    switch (c->cstate) {
    case C_SIZE: {
      int v = -1;
      if (ch >= '0' && ch <= '9') v = ch - '0';
      else if (ch >= 'a' && ch <= 'f') v = ch - 'a' + 10;
      else if (ch >= 'A' && ch <= 'F') v = ch - 'A' + 10;
      if (v >= 0) c->chunk_size = c->chunk_size * 16 + v;
      else if (ch == '\r') c->cstate = C_SIZE_LF;
      else c->cstate = C_EXT; /* ';' extensions or spaces */
      i++;
      break;
    }
    case C_EXT:
      if (ch == '\r') c->cstate = C_SIZE_LF;
      i++;
      break;
    case C_SIZE_LF:
      i++;
      if (c->chunk_size == 0) {
        c->cstate = C_TRAILER;
        c->trailer_len = 0;
      } else {
        c->chunk_left = c->chunk_size;
        c->cstate = C_DATA;
      }
      break;
    case C_DATA: {
      size_t take = n - i;
      if (take > c->chunk_left) take = c->chunk_left;
      body_bytes(c, p + i, take);
      i += take;
      c->chunk_left -= take;
      if (c->chunk_left == 0) c->cstate = C_DATA_CR;
      break;
    }
    case C_DATA_CR:
      c->cstate = C_DATA_LF;
      i++;
      break;
    case C_DATA_LF:
      c->cstate = C_SIZE;
      c->chunk_size = 0;
      i++;
      break;
    case C_TRAILER:
      if (ch == '\n') {
        if (c->trailer_len == 0) c->cstate = C_END;
        c->trailer_len = 0;
      } else if (ch != '\r') {
        c->trailer_len++;
      }
      i++;
      break;
    default:
      i = n;
    }
  }
}

static void finish(Conn *c, int failed) {
  if (c->state == S_DONE) return;
  if (c->state == S_CONNECTING || c->state == S_HEAD) {
    pending--;
    if (failed || c->state == S_CONNECTING) {
      c->failed = 1;
      failed_count++;
    }
  }
  c->state = S_DONE;
  c->closed = 1;
  if (c->fd >= 0) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
  }
  if (c->save) {
    fclose(c->save);
    c->save = NULL;
  }
}

static void start_conn(int id) {
  Conn *c = &conns[id];
  c->start_ms = now_ms();
  c->first_byte_ms = -1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("socket");
    c->state = S_CONNECTING;
    c->fd = -1;
    pending++;
    finish(c, 1);
    return;
  }
  c->fd = fd;
  c->state = S_CONNECTING;
  pending++;
  int r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  if (r < 0 && errno != EINPROGRESS) {
    finish(c, 1);
    return;
  }
  struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)id};
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void on_writable(int id) {
  Conn *c = &conns[id];
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    finish(c, 1);
    return;
  }
  /* The request is tiny: one send fits in an empty socket buffer. */
  if (send(c->fd, request, request_len, MSG_NOSIGNAL) != request_len) {
    finish(c, 1);
    return;
  }
  c->state = S_HEAD;
  c->head = malloc(HEAD_MAX);
  c->head_len = 0;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)id};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void head_done(Conn *c, int id) {
  c->head[c->head_len] = 0;
  char *sp = strchr(c->head, ' ');
  c->status = sp ? atoi(sp + 1) : 0;
  /* Case-insensitive search for a chunked Transfer-Encoding. */
  for (char *q = c->head; *q; q++) {
    if (strncasecmp(q, "\ntransfer-encoding:", 19) == 0) {
      char *v = q + 19;
      char *eol = strchr(v, '\n');
      for (; *v && v != eol; v++) {
        if (strncasecmp(v, "chunked", 7) == 0) c->chunked = 1;
      }
    }
  }
  pending--;
  ready_count++;
  c->state = S_BODY;
  if (id < save_k && save_dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/capture-%d.bin", save_dir, id);
    c->save = fopen(path, "wb");
  }
}

static void on_readable(int id, unsigned char *buf, size_t bufsize) {
  Conn *c = &conns[id];
  ssize_t n = recv(c->fd, buf, bufsize, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    finish(c, c->state == S_HEAD);
    return;
  }
  if (n < 0) return;
  if (c->first_byte_ms < 0) c->first_byte_ms = now_ms() - c->start_ms;
  c->wire += (uint64_t)n;
  unsigned char *p = buf;
  size_t left = (size_t)n;
  if (c->state == S_HEAD) {
    /* Copy into the head buffer until CRLF CRLF; the rest is body. */
    size_t i = 0;
    int found = 0;
    while (i < left) {
      if (c->head_len >= HEAD_MAX - 1) {
        finish(c, 1);
        return;
      }
      c->head[c->head_len++] = (char)p[i++];
      if (c->head_len >= 4 && memcmp(c->head + c->head_len - 4, "\r\n\r\n", 4) == 0) {
        found = 1;
        break;
      }
    }
    if (!found) return;
    head_done(c, id);
    p += i;
    left -= i;
  }
  if (left == 0) return;
  if (c->chunked) dechunk(c, p, left);
  else body_bytes(c, p, left);
}

static void report(void) {
  for (int i = 0; i < nconns; i++) {
    Conn *c = &conns[i];
    printf("C %d %d %llu %llu %d", i, c->status, (unsigned long long)c->body,
           (unsigned long long)c->wire, c->closed);
    for (int m = 0; m < nmarks; m++) printf(" %llu", (unsigned long long)c->marks[m]);
    printf(" %.1f\n", c->first_byte_ms);
  }
  printf("DONE\n");
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s HOST PORT PATH N [-0] [-s K DIR] [-p PENDING] [-t SECONDS] [-b BYTES]\n",
            argv[0]);
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  const char *path = argv[3];
  nconns = atoi(argv[4]);
  int http10 = 0, max_pending = 256;
  double max_seconds = 600;
  size_t bufsize = 262144;
  for (int i = 5; i < argc; i++) {
    if (strcmp(argv[i], "-0") == 0) http10 = 1;
    else if (strcmp(argv[i], "-s") == 0 && i + 2 < argc) {
      save_k = atoi(argv[++i]);
      save_dir = argv[++i];
    } else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) max_pending = atoi(argv[++i]);
    else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) max_seconds = atof(argv[++i]);
    else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc) bufsize = (size_t)atol(argv[++i]);
    else {
      fprintf(stderr, "unknown argument: %s\n", argv[i]);
      return 2;
    }
  }
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    fprintf(stderr, "bad IPv4 address: %s\n", host);
    return 2;
  }
  request_len = snprintf(request, sizeof request,
                         "GET %s HTTP/1.%d\r\nHost: %s:%d\r\nUser-Agent: mkserver-loadclient\r\n"
                         "Accept: */*\r\n\r\n",
                         path, http10 ? 0 : 1, host, port);
  conns = calloc((size_t)nconns, sizeof(Conn));
  unsigned char *buf = malloc(bufsize);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event sev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &sev);

  double t0 = now_ms();
  int ready_printed = 0, quit = 0;
  struct epoll_event events[512];
  char cmd[256];
  while (!quit) {
    while (next_conn < nconns && pending < max_pending) start_conn(next_conn++);
    if (!ready_printed && next_conn == nconns && pending == 0) {
      printf("READY ok=%d failed=%d secs=%.3f\n", ready_count, failed_count, (now_ms() - t0) / 1e3);
      fflush(stdout);
      ready_printed = 1;
    }
    if ((now_ms() - t0) / 1e3 > max_seconds) {
      fprintf(stderr, "loadclient: time limit reached\n");
      break;
    }
    int n = epoll_wait(epfd, events, 512, 100);
    for (int i = 0; i < n; i++) {
      uint32_t id = events[i].data.u32;
      if (id == UINT32_MAX) {
        ssize_t r = read(0, cmd, sizeof cmd);
        if (r == 0) quit = 1; /* stdin closed: stop */
        for (ssize_t j = 0; j < r; j++) {
          if (cmd[j] == 'm' && nmarks < MAX_MARKS) {
            for (int k = 0; k < nconns; k++) conns[k].marks[nmarks] = conns[k].body;
            printf("MARK %d %.3f\n", nmarks, (now_ms() - t0) / 1e3);
            fflush(stdout);
            nmarks++;
          } else if (cmd[j] == 'q') {
            quit = 1;
          }
        }
        if (r == 0) epoll_ctl(epfd, EPOLL_CTL_DEL, 0, NULL);
        continue;
      }
      Conn *c = &conns[id];
      if (c->state == S_DONE) continue;
      if (c->state == S_CONNECTING) {
        if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_writable((int)id);
        continue;
      }
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
        on_readable((int)id, buf, bufsize);
      }
    }
  }
  for (int i = 0; i < nconns; i++) {
    if (conns[i].save) fflush(conns[i].save);
  }
  report();
  for (int i = 0; i < nconns; i++) {
    int was_closed = conns[i].closed;
    finish(&conns[i], 0);
    conns[i].closed = was_closed;
  }
  return 0;
}
