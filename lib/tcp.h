/* tcp.h - TCP client sockets with timeouts.
 *
 * Sockets are non-blocking, close-on-exec and have TCP_NODELAY set (MRP
 * sends small request/reply messages that must not wait for Nagle).  Every
 * blocking step takes a deadline on the monotonic clock, so a peer that
 * stops answering costs a timeout, never a hang.  The fd stays non-blocking
 * so callers can poll() it themselves. */
#ifndef ATV_TCP_H
#define ATV_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Room for "[IPv6%scope]:port" and the NUL. */
#define ATV_TCP_PEERLEN 128

/* Milliseconds on the monotonic clock. */
int64_t atv_clock_ms(void);

/* Seconds since the epoch on the wall clock (for "when" in results). */
double atv_wall_clock(void);

/* The deadline timeout_ms from now (timeout_ms <= 0: 5000). */
int64_t atv_deadline_ms(int timeout_ms);

/* Write "host:port" (IPv6 literals in brackets) to out. */
void atv_tcp_peer_name(char *out, size_t size, const char *host, int port);

/* Connect to host (an IPv4 or IPv6 literal, an IPv6 one possibly with a
 * %scope, or a name) at port, trying each address in turn until
 * timeout_ms (<= 0: 5000) has passed.  On success *fd is the connected
 * socket (the caller closes it).  -ATV_E_UNREACHABLE ("unable to connect
 * to HOST:PORT: Connection refused" / "...: timed out after 5.0 s"),
 * -ATV_E_USAGE for a port outside 1..65535. */
int atv_tcp_connect(const char *host, int port, int timeout_ms, int *fd, struct atv_err *err);

/* Read at most cap bytes into p, waiting until deadline (monotonic ms; a
 * deadline already passed means: only what is there now) for the first
 * byte.  *got is the number read: 0 when nothing came in time.  *eof is
 * set when the peer closed its side.  Errors (reset, ...) are
 * -ATV_E_UNREACHABLE. */
int atv_tcp_read(int fd, void *p, size_t cap, int64_t deadline, size_t *got, bool *eof,
		 struct atv_err *err);

/* Write all len bytes before deadline.  -ATV_E_UNREACHABLE when the peer
 * is gone or does not take the bytes in time. */
int atv_tcp_write(int fd, const void *p, size_t len, int64_t deadline, struct atv_err *err);

#endif
