/* tcp.c - TCP client sockets with timeouts (non-blocking connect + poll). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcp.h"
#include "banned.h"

#define DEFAULT_TIMEOUT_MS 5000

int64_t atv_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double atv_wall_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int64_t atv_deadline_ms(int timeout_ms)
{
	return atv_clock_ms() + (timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS);
}

/* Milliseconds left until deadline, as a poll() timeout (0 when passed). */
static int remaining(int64_t deadline)
{
	int64_t left = deadline - atv_clock_ms();

	if (left <= 0)
		return 0;
	return left > 60 * 60 * 1000 ? 60 * 60 * 1000 : (int)left;
}

void atv_tcp_peer_name(char *out, size_t size, const char *host, int port)
{
	if (strchr(host, ':'))
		snprintf(out, size, "[%s]:%d", host, port);
	else
		snprintf(out, size, "%s:%d", host, port);
}

/* Wait for fd to become ready for events until deadline: 1 ready, 0 timed
 * out, or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r;

	for (;;) {
		r = poll(&p, 1, remaining(deadline));
		if (r >= 0)
			return r > 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* One address: 0 and *fd, or a positive errno (ETIMEDOUT when the deadline
 * passed). */
static int connect_one(const struct addrinfo *ai, int64_t deadline, int *fd)
{
	int s, r, soerr = 0, one = 1;
	socklen_t len = sizeof soerr;

	s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (s < 0)
		return errno;
	/* MRP is request/reply with small messages: Nagle would add delay. */
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0)
		goto ok;
	if (errno != EINPROGRESS && errno != EINTR) {
		r = errno;
		goto fail;
	}
	r = wait_fd(s, POLLOUT, deadline);
	if (r == 0) {
		r = ETIMEDOUT;
		goto fail;
	}
	if (r < 0) {
		r = -r;
		goto fail;
	}
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) {
		r = errno;
		goto fail;
	}
	if (soerr) {
		r = soerr;
		goto fail;
	}
ok:
	*fd = s;
	return 0;
fail:
	close(s);
	return r;
}

int atv_tcp_connect(const char *host, int port, int timeout_ms, int *fd, struct atv_err *err)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	char peer[ATV_TCP_PEERLEN], service[8];
	int64_t deadline = atv_deadline_ms(timeout_ms);
	int r, last = ECONNREFUSED;

	*fd = -1;
	if (port <= 0 || port > 65535)
		return atv_err_set(err, ATV_E_USAGE, "invalid tcp port %d", port);
	atv_tcp_peer_name(peer, sizeof peer, host, port);
	snprintf(service, sizeof service, "%d", port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
	/* Configs carry numeric addresses; only a name needs a resolver. */
	r = getaddrinfo(host, service, &hints, &res);
	if (r == EAI_NONAME) {
		hints.ai_flags = AI_NUMERICSERV;
		r = getaddrinfo(host, service, &hints, &res);
	}
	if (r != 0)
		return atv_err_set(err, ATV_E_UNREACHABLE, "unable to connect to %s: %s", peer,
				   r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		last = connect_one(ai, deadline, fd);
		if (last == 0 || last == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (last == 0)
		return 0;
	if (last == ETIMEDOUT)
		return atv_err_set(err, ATV_E_UNREACHABLE,
				   "unable to connect to %s: timed out after %.1f s", peer,
				   (timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS) / 1000.0);
	return atv_err_sys(err, ATV_E_UNREACHABLE, last, "unable to connect to %s", peer);
}

int atv_tcp_read(int fd, void *p, size_t cap, int64_t deadline, size_t *got, bool *eof,
		 struct atv_err *err)
{
	ssize_t n;
	int r;

	*got = 0;
	*eof = false;
	for (;;) {
		n = recv(fd, p, cap, 0);
		if (n > 0) {
			*got = (size_t)n;
			return 0;
		}
		if (n == 0) {
			*eof = cap > 0;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return atv_err_sys(err, ATV_E_UNREACHABLE, errno, "read failed");
		r = wait_fd(fd, POLLIN, deadline);
		if (r < 0)
			return atv_err_sys(err, ATV_E_UNREACHABLE, -r, "poll failed");
		if (r == 0)
			return 0;
	}
}

int atv_tcp_write(int fd, const void *p, size_t len, int64_t deadline, struct atv_err *err)
{
	const uint8_t *b = p;
	ssize_t n;
	int r;

	while (len > 0) {
		/* MSG_NOSIGNAL: a closed peer is an error to report, not SIGPIPE. */
		n = send(fd, b, len, MSG_NOSIGNAL);
		if (n > 0) {
			b += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return atv_err_sys(err, ATV_E_UNREACHABLE, errno, "write failed");
		r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			return atv_err_sys(err, ATV_E_UNREACHABLE, -r, "poll failed");
		if (r == 0)
			return atv_err_set(err, ATV_E_UNREACHABLE,
					   "write timed out (the peer does not read)");
	}
	return 0;
}
