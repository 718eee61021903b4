/* test-channel - lib/airplay_channel.c over real TCP loopback connections: two
 * channels back to back (plain, then encrypted with swapped keys), a 4 MiB
 * transfer against a reader that stops (backpressure), and one channel
 * against a raw TCP peer that checks the bytes on the wire: sealed framing,
 * a tampered block, a block that arrives in pieces, a 65535-byte block,
 * both kinds of close, encrypt() sending what was written before it
 * plain, and a direct channel (no socket pair) both ways (cmocka). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "bytes.h"
#include "airplay_channel.h"
#include "crypto.h"
#include "hap.h"

/* Long enough for a loaded machine; only a broken channel waits it out. */
#define WAIT_MS 10000

static const uint8_t key_ab[ATV_AEAD_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9}; /* a -> b */
static const uint8_t key_ba[ATV_AEAD_KEY_LEN] = {9, 8, 7, 6, 5, 4, 3, 2, 1}; /* b -> a */

/* A connected TCP pair on 127.0.0.1; small socket buffers (when asked)
 * make backpressure reach the channels early. */
static void tcp_pair(int fd[2], int small)
{
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof sa;
	int l, sz = 32 * 1024;

	l = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
	fd[0] = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd[0] >= 0);
	if (small) {
		setsockopt(fd[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
		setsockopt(fd[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	}
	assert_int_equal(connect(fd[0], (struct sockaddr *)&sa, sizeof sa), 0);
	fd[1] = accept(l, NULL, NULL);
	assert_true(fd[1] >= 0);
	if (small) {
		setsockopt(fd[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
		setsockopt(fd[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	}
	close(l);
}

static struct atv_channel *channel(int fd)
{
	struct atv_err err = {0};
	struct atv_channel *ch = atv_channel_new(fd, &err);

	if (!ch)
		fail_msg("atv_channel_new: %s", err.msg);
	return ch;
}

static void encrypt(struct atv_channel *ch, const uint8_t *out, const uint8_t *in)
{
	struct atv_hap_cipher c;
	struct atv_err err = {0};

	atv_hap_cipher_init(&c, out, in);
	assert_int_equal(atv_channel_encrypt(ch, &c, &err), 0);
	assert_true(atv_channel_encrypted(ch));
	atv_hap_cipher_wipe(&c);
}

static size_t readable(int fd)
{
	int n = 0;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return (size_t)n;
}

/* Pump chs (none may fail) until fd has want bytes to read. */
static void pump_until(struct atv_channel **chs, size_t n, int fd, size_t want)
{
	for (;;) {
		struct pollfd pfd[9];
		size_t np = 0;
		struct atv_err err = {0};

		for (size_t i = 0; i < n; i++)
			if (atv_channel_pump(chs[i], &err) != 0)
				fail_msg("atv_channel_pump: %s", err.msg);
		if (readable(fd) >= want)
			return;
		for (size_t i = 0; i < n && i < 4; i++)
			np += atv_channel_pollfds(chs[i], pfd + np);
		pfd[np++] = (struct pollfd){fd, POLLIN, 0};
		assert_true(poll(pfd, np, WAIT_MS) > 0);
	}
}

static void send_all(int fd, const void *p, size_t len)
{
	assert_int_equal(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void recv_expect(int fd, const void *p, size_t len)
{
	uint8_t b[4096];

	assert_true(len <= sizeof b);
	assert_int_equal(recv(fd, b, len, MSG_DONTWAIT), (ssize_t)len);
	assert_memory_equal(b, p, len);
}

/* fd is at its end: a read gets 0 at once. */
static void expect_eof(int fd)
{
	char c;

	assert_int_equal(recv(fd, &c, 1, MSG_DONTWAIT), 0);
}

/* Wait until fd has something to read (or its end). */
static void wait_in(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};

	assert_true(poll(&p, 1, WAIT_MS) > 0);
}

/* Wait on whatever the channel itself waits for. */
static void wait_channel(struct atv_channel *ch)
{
	struct pollfd p[2];
	size_t np = atv_channel_pollfds(ch, p);

	assert_true(poll(p, np, WAIT_MS) > 0);
}

/* Exchange a message each way between two back-to-back channels. */
static void exchange(struct atv_channel *a, struct atv_channel *b, const char *ping,
		     const char *pong)
{
	struct atv_channel *chs[2] = {a, b};

	send_all(atv_channel_local_fd(a), ping, strlen(ping));
	pump_until(chs, 2, atv_channel_local_fd(b), strlen(ping));
	recv_expect(atv_channel_local_fd(b), ping, strlen(ping));
	send_all(atv_channel_local_fd(b), pong, strlen(pong));
	pump_until(chs, 2, atv_channel_local_fd(a), strlen(pong));
	recv_expect(atv_channel_local_fd(a), pong, strlen(pong));
}

static void test_back_to_back(void **state)
{
	struct atv_channel *a, *b;
	struct atv_err err = {0};
	int fd[2];

	(void)state;
	tcp_pair(fd, 0);
	a = channel(fd[0]);
	b = channel(fd[1]);
	assert_int_equal(atv_channel_tcp_fd(a), fd[0]);
	assert_false(atv_channel_encrypted(a));
	exchange(a, b, "GET /info HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n");
	encrypt(a, key_ab, key_ba);
	encrypt(b, key_ba, key_ab);
	exchange(a, b, "POST /play HTTP/1.1\r\n\r\n",
		 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	exchange(a, b, "x", "y");
	/* once is enough */
	{
		struct atv_hap_cipher c;

		atv_hap_cipher_init(&c, key_ab, key_ba);
		assert_int_equal(atv_channel_encrypt(a, &c, &err), -ATV_E_USAGE);
	}
	atv_channel_free(a);
	atv_channel_free(b);
}

/* A byte of a stream that is not periodic in the block size. */
static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

/* Offer the next (up to 64 KiB) bytes of the pattern stream to fd without
 * blocking; *wrote counts what it took.  Returns what send() did. */
static ssize_t send_pattern(int fd, uint8_t *buf, size_t *wrote, size_t total)
{
	size_t n = total - *wrote < 64 * 1024 ? total - *wrote : 64 * 1024;
	ssize_t w;

	for (size_t i = 0; i < n; i++)
		buf[i] = pattern(*wrote + i);
	w = send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	assert_true(w > 0 || errno == EAGAIN);
	if (w > 0)
		*wrote += (size_t)w;
	return w;
}

static void pump_both(struct atv_channel *a, struct atv_channel *b)
{
	assert_int_equal(atv_channel_pump(a, NULL), 0);
	assert_int_equal(atv_channel_pump(b, NULL), 0);
}

static void test_large_backpressure(void **state)
{
	const size_t total = 4 * 1024 * 1024;
	struct atv_channel *a, *b;
	size_t wrote = 0, got = 0;
	uint8_t *buf;
	int fd[2], la, lb, stalled = 0;

	(void)state;
	buf = malloc(64 * 1024);
	assert_non_null(buf);
	tcp_pair(fd, 1);
	a = channel(fd[0]);
	b = channel(fd[1]);
	encrypt(a, key_ab, key_ba);
	encrypt(b, key_ba, key_ab);
	la = atv_channel_local_fd(a);
	lb = atv_channel_local_fd(b);
	/* the reader does nothing: the writer must come to a stop */
	for (;;) {
		struct pollfd pfd[5];
		size_t np = 0;
		ssize_t w = send_pattern(la, buf, &wrote, total);

		pump_both(a, b);
		if (w < 0) {
			/* stuck once nothing can move any more */
			np += atv_channel_pollfds(a, pfd + np);
			np += atv_channel_pollfds(b, pfd + np);
			pfd[np++] = (struct pollfd){la, POLLOUT, 0};
			if (poll(pfd, np, 0) == 0) {
				stalled = 1;
				break;
			}
		}
		assert_true(wrote < total);
	}
	assert_true(stalled);
	/* every cap together is far below the whole stream */
	assert_true(wrote < 3 * 1024 * 1024);
	/* now read it all, a little at a time, and check every byte */
	while (got < total) {
		uint8_t in[3000];
		struct pollfd pfd[6];
		size_t np = 0;
		ssize_t r;

		if (wrote < total)
			send_pattern(la, buf, &wrote, total);
		pump_both(a, b);
		r = recv(lb, in, sizeof in, MSG_DONTWAIT);
		if (r > 0) {
			for (ssize_t i = 0; i < r; i++)
				if (in[i] != pattern(got + (size_t)i))
					fail_msg("byte %zu differs", got + (size_t)i);
			got += (size_t)r;
			continue;
		}
		assert_true(r < 0 && errno == EAGAIN);
		np += atv_channel_pollfds(a, pfd + np);
		np += atv_channel_pollfds(b, pfd + np);
		pfd[np++] = (struct pollfd){lb, POLLIN, 0};
		if (wrote < total)
			pfd[np++] = (struct pollfd){la, POLLOUT, 0};
		assert_true(poll(pfd, np, WAIT_MS) > 0);
	}
	assert_int_equal(readable(lb), 0);
	free(buf);
	atv_channel_free(a);
	atv_channel_free(b);
}

/* A channel against a raw TCP peer. */
struct raw {
	struct atv_channel *ch;
	int peer;
	struct atv_hap_cipher c; /* the peer's side */
};

static void raw_setup(struct raw *r, int encrypted)
{
	int fd[2];

	tcp_pair(fd, 0);
	r->ch = channel(fd[0]);
	r->peer = fd[1];
	atv_hap_cipher_init(&r->c, key_ba, key_ab);
	if (encrypted)
		encrypt(r->ch, key_ab, key_ba);
}

/* The peer closes its end (once). */
static void raw_close_peer(struct raw *r)
{
	if (r->peer >= 0)
		close(r->peer);
	r->peer = -1;
}

static void raw_teardown(struct raw *r)
{
	atv_channel_free(r->ch);
	raw_close_peer(r);
	atv_hap_cipher_wipe(&r->c);
}

/* Wait until the channel's TCP socket has what the peer sent, then pump. */
static int raw_pump(struct raw *r, struct atv_err *err)
{
	wait_in(atv_channel_tcp_fd(r->ch));
	return atv_channel_pump(r->ch, err);
}

/* Pump the channel (it may not fail) and collect what reaches the peer,
 * chunk bytes at a time, until wire holds want bytes and not one more. */
static void raw_collect(struct raw *r, struct atv_buf *wire, size_t want, size_t chunk)
{
	struct atv_err err = {0};

	while (wire->len < want) {
		ssize_t n;

		assert_int_equal(atv_channel_pump(r->ch, &err), 0);
		wait_in(r->peer);
		assert_int_equal(atv_buf_reserve(wire, chunk, NULL), 0);
		n = recv(r->peer, wire->data + wire->len, chunk, MSG_DONTWAIT);
		if (n > 0)
			wire->len += (size_t)n;
	}
	assert_int_equal(wire->len, want);
}

/* Append s sealed as the peer would to b (which the caller set up). */
static void raw_seal(struct raw *r, struct atv_buf *b, const char *s)
{
	assert_int_equal(atv_hap_cipher_seal_blocks(&r->c, (const uint8_t *)s, strlen(s), b, NULL),
			 0);
}

/* An encrypted channel, and in b the peer's first block: s sealed. */
static void raw_setup_sealed(struct raw *r, struct atv_buf *b, const char *s)
{
	raw_setup(r, 1);
	atv_buf_init(b, 1024);
	raw_seal(r, b, s);
}

/* Give the channel the next len bytes of a sealed stream: nothing may come
 * out of the local side until a block is whole. */
static void raw_feed_partial(struct raw *r, const uint8_t *p, size_t len)
{
	struct atv_err err = {0};

	send_all(r->peer, p, len);
	assert_int_equal(raw_pump(r, &err), 0);
	assert_int_equal(readable(atv_channel_local_fd(r->ch)), 0);
}

/* Offer the rest of data to the peer without blocking; *sent counts it. */
static ssize_t raw_offer(struct raw *r, const uint8_t *data, size_t len, size_t *sent)
{
	ssize_t w = send(r->peer, data + *sent, len - *sent, MSG_DONTWAIT);

	if (w > 0)
		*sent += (size_t)w;
	return w;
}

static void test_wire_framing(void **state)
{
	struct atv_buf wire, pt;
	struct atv_err err = {0};
	uint8_t big[2500];
	size_t consumed;
	struct raw r;

	(void)state;
	raw_setup(&r, 1);
	atv_buf_init(&wire, 8192);
	atv_buf_init(&pt, 8192);
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = pattern(i);
	send_all(atv_channel_local_fd(r.ch), big, sizeof big);
	/* 1024 + 1024 + 452 bytes of plaintext, 18 bytes more each */
	raw_collect(&r, &wire, sizeof big + 3 * 18, 4096);
	assert_int_equal(atv_get_le16(wire.data), ATV_HAP_BLOCK_MAX);
	assert_int_equal(atv_get_le16(wire.data + 2 * (1024 + 18)), 452);
	assert_int_equal(
	    atv_hap_cipher_open_blocks(&r.c, wire.data, wire.len, &consumed, &pt, &err), 0);
	assert_int_equal(consumed, wire.len);
	assert_int_equal(pt.len, sizeof big);
	assert_memory_equal(pt.data, big, sizeof big);
	atv_buf_release(&wire);
	atv_buf_release(&pt);
	raw_teardown(&r);
}

static void test_tampered(void **state)
{
	struct pollfd pfd[2];
	struct atv_err err = {0};
	struct atv_buf b;
	struct raw r;

	(void)state;
	raw_setup_sealed(&r, &b, "hello");
	b.data[4] ^= 0x40;
	send_all(r.peer, b.data, b.len);
	assert_int_equal(raw_pump(&r, &err), -ATV_E_AUTH);
	assert_int_equal(err.code, ATV_E_AUTH);
	assert_non_null(strstr(err.msg, "encrypted block from the peer"));
	/* dead: the same error again, nothing to wait for, the local side
	 * sees the end */
	memset(&err, 0, sizeof err);
	assert_int_equal(atv_channel_pump(r.ch, &err), -ATV_E_AUTH);
	assert_int_equal(err.code, ATV_E_AUTH);
	assert_int_equal(atv_channel_pollfds(r.ch, pfd), 0);
	expect_eof(atv_channel_local_fd(r.ch));
	atv_buf_release(&b);
	raw_teardown(&r);
}

static void test_partial_block(void **state)
{
	struct atv_err err = {0};
	struct atv_buf b;
	struct raw r;
	int local;

	(void)state;
	raw_setup_sealed(&r, &b, "HTTP/1.1 200 OK\r\n");
	local = atv_channel_local_fd(r.ch);
	assert_int_equal(b.len, 17 + 18);
	/* the length says more than has come: wait */
	raw_feed_partial(&r, b.data, 1);
	raw_feed_partial(&r, b.data + 1, 10);
	raw_feed_partial(&r, b.data + 11, b.len - 12);
	/* the last byte completes it */
	send_all(r.peer, b.data + b.len - 1, 1);
	assert_int_equal(raw_pump(&r, &err), 0);
	recv_expect(local, "HTTP/1.1 200 OK\r\n", 17);
	atv_buf_release(&b);
	raw_teardown(&r);
}

/* Peers may send blocks of up to 65535 bytes; the channel takes them
 * whole, including a second one right behind the first. */
static void test_max_block(void **state)
{
	const size_t n = 65535;
	uint8_t nonce[ATV_AEAD_NONCE_LEN], *blk, *pt;
	struct atv_channel *chs[1];
	struct atv_err err = {0};
	struct raw r;
	int local;

	(void)state;
	raw_setup(&r, 1);
	chs[0] = r.ch;
	local = atv_channel_local_fd(r.ch);
	blk = malloc(2 * (2 + n + ATV_AEAD_TAG_LEN));
	pt = malloc(2 * n);
	assert_non_null(blk);
	assert_non_null(pt);
	for (size_t i = 0; i < 2 * n; i++)
		pt[i] = pattern(i);
	for (uint64_t k = 0; k < 2; k++) {
		uint8_t *p = blk + k * (2 + n + ATV_AEAD_TAG_LEN);

		atv_put_le16(p, (uint16_t)n);
		atv_nonce_counter(nonce, k);
		assert_int_equal(atv_aead_seal(key_ba, nonce, p, 2, pt + k * n, n, p + 2, &err), 0);
	}
	send_all(r.peer, blk, 2 * (2 + n + ATV_AEAD_TAG_LEN));
	/* the socket pair may hold less than both: read as it comes */
	{
		uint8_t *got = malloc(2 * n);
		size_t have = 0;

		assert_non_null(got);
		while (have < 2 * n) {
			ssize_t k;

			pump_until(chs, 1, local, 1);
			k = recv(local, got + have, 2 * n - have, MSG_DONTWAIT);
			assert_true(k > 0);
			have += (size_t)k;
		}
		assert_memory_equal(got, pt, 2 * n);
		free(got);
	}
	free(blk);
	free(pt);
	raw_teardown(&r);
}

static void test_peer_close(void **state)
{
	struct pollfd pfd[2];
	struct atv_err err = {0};
	struct raw r;

	(void)state;
	raw_setup(&r, 0);
	send_all(r.peer, "bye", 3);
	raw_close_peer(&r);
	/* delivered, then the end, then the error */
	assert_int_equal(raw_pump(&r, &err), -ATV_E_UNREACHABLE);
	assert_string_equal(err.msg, "connection closed by the peer");
	recv_expect(atv_channel_local_fd(r.ch), "bye", 3);
	expect_eof(atv_channel_local_fd(r.ch));
	assert_int_equal(atv_channel_pump(r.ch, &err), -ATV_E_UNREACHABLE);
	assert_int_equal(atv_channel_pollfds(r.ch, pfd), 0);
	raw_teardown(&r);

	/* encrypted, cut in the middle of a block */
	{
		struct atv_buf b;

		raw_setup_sealed(&r, &b, "ok");
		raw_seal(&r, &b, "cut");
		send_all(r.peer, b.data, b.len - 5);
		atv_buf_release(&b);
	}
	raw_close_peer(&r);
	assert_int_equal(raw_pump(&r, &err), -ATV_E_PROTO);
	assert_non_null(strstr(err.msg, "inside an encrypted block"));
	recv_expect(atv_channel_local_fd(r.ch), "ok", 2);
	expect_eof(atv_channel_local_fd(r.ch));
	raw_teardown(&r);
}

/* The peer stops reading: what came before the close is still delivered
 * once the local side reads. */
static void test_peer_close_later_read(void **state)
{
	static uint8_t data[600 * 1024];
	struct atv_err err = {0};
	size_t got = 0, sent = 0;
	struct raw r;
	int local, rc = 0;

	(void)state;
	raw_setup(&r, 0);
	local = atv_channel_local_fd(r.ch);
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = pattern(i);
	/* more than the channel and the socket pair hold together */
	while (sent < sizeof data) {
		struct pollfd p[3];
		size_t np;
		ssize_t w = raw_offer(&r, data, sizeof data, &sent);

		assert_int_equal(atv_channel_pump(r.ch, &err), 0);
		if (w > 0)
			continue;
		np = atv_channel_pollfds(r.ch, p);
		p[np++] = (struct pollfd){r.peer, POLLOUT, 0};
		if (poll(p, np, 0) == 0)
			break; /* full everywhere */
	}
	/* drain the rest through a reading local side */
	while (got < sizeof data) {
		uint8_t b[8192];
		ssize_t k;

		if (sent < sizeof data) {
			raw_offer(&r, data, sizeof data, &sent);
			if (sent == sizeof data)
				raw_close_peer(&r);
		}
		if (rc == 0)
			rc = atv_channel_pump(r.ch, &err);
		assert_true(rc == 0 || rc == -ATV_E_UNREACHABLE);
		k = recv(local, b, sizeof b, MSG_DONTWAIT);
		if (k > 0) {
			assert_memory_equal(b, data + got, (size_t)k);
			got += (size_t)k;
			continue;
		}
		assert_true(k < 0);
		if (rc == 0) {
			struct pollfd p[3];
			size_t np = atv_channel_pollfds(r.ch, p);

			p[np++] = (struct pollfd){local, POLLIN, 0};
			assert_true(poll(p, np, WAIT_MS) > 0);
		}
	}
	raw_close_peer(&r);
	/* the end comes after the last byte */
	while (rc == 0) {
		wait_channel(r.ch);
		rc = atv_channel_pump(r.ch, &err);
	}
	assert_int_equal(rc, -ATV_E_UNREACHABLE);
	expect_eof(local);
	raw_teardown(&r);
}

static void test_local_close(void **state)
{
	struct atv_err err = {0};
	struct raw r;
	int local;

	(void)state;
	raw_setup(&r, 0);
	local = atv_channel_take_local(r.ch);
	assert_int_equal(atv_channel_local_fd(r.ch), -1);
	send_all(local, "last", 4);
	close(local);
	assert_int_equal(atv_channel_pump(r.ch, &err), -ATV_E_UNREACHABLE);
	assert_string_equal(err.msg, "connection closed locally");
	/* sent, then the end */
	wait_in(r.peer);
	recv_expect(r.peer, "last", 4);
	wait_in(r.peer);
	expect_eof(r.peer);
	raw_teardown(&r);
}

static void test_encrypt_drains(void **state)
{
	static const char plain[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	struct atv_err err = {0};
	struct atv_buf wire, pt;
	size_t consumed, want;
	struct raw r;
	int local;

	(void)state;
	raw_setup(&r, 0);
	local = atv_channel_local_fd(r.ch);
	atv_buf_init(&wire, 4096);
	atv_buf_init(&pt, 4096);
	/* the last plain response is still in the socket pair ... */
	send_all(local, plain, strlen(plain));
	encrypt(r.ch, key_ab, key_ba);
	/* ... and the next one is written after the switch */
	send_all(local, "sealed", 6);
	want = strlen(plain) + 6 + 18;
	raw_collect(&r, &wire, want, 1024);
	assert_memory_equal(wire.data, plain, strlen(plain));
	assert_int_equal(atv_hap_cipher_open_blocks(&r.c, wire.data + strlen(plain), 6 + 18,
						    &consumed, &pt, &err),
			 0);
	assert_int_equal(consumed, 6 + 18);
	assert_int_equal(pt.len, 6);
	assert_memory_equal(pt.data, "sealed", 6);
	atv_buf_release(&wire);
	atv_buf_release(&pt);
	raw_teardown(&r);
}

/* A direct channel against a raw TCP peer. */
static void direct_setup(struct raw *r)
{
	struct atv_err err = {0};
	int fd[2];

	tcp_pair(fd, 0);
	r->ch = atv_channel_new_direct(fd[0], &err);
	assert_non_null(r->ch);
	r->peer = fd[1];
	atv_hap_cipher_init(&r->c, key_ba, key_ab);
}

/* A direct channel: what we send goes out as it is, then sealed; what
 * the peer sends lands in the input, opened; after the peer closed, the
 * input keeps what came, and a block cut short is a protocol error. */
static void test_direct(void **state)
{
	struct atv_hap_cipher ci;
	struct atv_err err = {0};
	struct atv_buf wire, pt, *in;
	struct pollfd pfd[2];
	struct raw r = {0};
	size_t consumed;

	(void)state;
	direct_setup(&r);
	assert_int_equal(atv_channel_local_fd(r.ch), -1);
	/* idle: only TCP, only for reading */
	assert_int_equal(atv_channel_pollfds(r.ch, pfd), 1);
	assert_int_equal(pfd[0].events, POLLIN);
	assert_int_equal(atv_channel_send(r.ch, "plain ", 6, &err), 0);
	atv_hap_cipher_init(&ci, key_ab, key_ba);
	assert_int_equal(atv_channel_encrypt(r.ch, &ci, &err), 0);
	atv_hap_cipher_wipe(&ci);
	assert_int_equal(atv_channel_send(r.ch, "sealed", 6, &err), 0);
	atv_buf_init(&wire, 1024);
	raw_collect(&r, &wire, 6 + 6 + 18, 1024);
	assert_memory_equal(wire.data, "plain ", 6);
	atv_buf_init(&pt, 1024);
	assert_int_equal(atv_hap_cipher_open_blocks(&r.c, wire.data + 6, wire.len - 6, &consumed,
						    &pt, &err),
			 0);
	assert_int_equal(pt.len, 6);
	assert_memory_equal(pt.data, "sealed", 6);
	/* the peer answers in two blocks and closes */
	atv_buf_reset(&wire);
	raw_seal(&r, &wire, "one ");
	raw_seal(&r, &wire, "two");
	send_all(r.peer, wire.data, wire.len);
	raw_close_peer(&r);
	in = atv_channel_input(r.ch);
	while (atv_channel_pump(r.ch, &err) == 0)
		wait_channel(r.ch);
	assert_int_equal(err.code, ATV_E_UNREACHABLE);
	assert_string_equal(err.msg, "connection closed by the peer");
	assert_int_equal(in->len, 7);
	assert_memory_equal(in->data, "one two", 7);
	/* dead: sending is refused with the same error */
	assert_int_equal(atv_channel_send(r.ch, "x", 1, &err), -ATV_E_UNREACHABLE);
	atv_buf_release(&wire);
	atv_buf_release(&pt);
	raw_teardown(&r);
}

/* A direct channel whose peer closes inside a block. */
static void test_direct_cut(void **state)
{
	struct atv_err err = {0};
	struct atv_buf wire;
	struct raw r = {0};

	(void)state;
	direct_setup(&r);
	encrypt(r.ch, key_ab, key_ba);
	atv_buf_init(&wire, 1024);
	raw_seal(&r, &wire, "a whole block");
	send_all(r.peer, wire.data, wire.len - 1);
	raw_close_peer(&r);
	while (atv_channel_pump(r.ch, &err) == 0)
		wait_channel(r.ch);
	assert_int_equal(err.code, ATV_E_PROTO);
	assert_int_equal(atv_channel_input(r.ch)->len, 0);
	atv_buf_release(&wire);
	raw_teardown(&r);
}

static void test_api(void **state)
{
	struct atv_err err = {0};
	struct atv_channel *ch;
	struct pollfd pfd[2];
	int fd[2];

	(void)state;
	assert_null(atv_channel_new(-1, &err));
	assert_int_equal(err.code, ATV_E_IO);
	atv_channel_free(NULL);
	/* an idle channel waits only for reading */
	tcp_pair(fd, 0);
	ch = channel(fd[0]);
	assert_int_equal(atv_channel_pollfds(ch, pfd), 2);
	assert_int_equal(pfd[0].fd, fd[0]);
	assert_int_equal(pfd[0].events, POLLIN);
	assert_int_equal(pfd[1].events, POLLIN);
	assert_int_equal(atv_channel_pump(ch, &err), 0);
	atv_channel_free(ch);
	close(fd[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_api),
	    cmocka_unit_test(test_back_to_back),
	    cmocka_unit_test(test_large_backpressure),
	    cmocka_unit_test(test_wire_framing),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_partial_block),
	    cmocka_unit_test(test_max_block),
	    cmocka_unit_test(test_peer_close),
	    cmocka_unit_test(test_peer_close_later_read),
	    cmocka_unit_test(test_local_close),
	    cmocka_unit_test(test_encrypt_drains),
	    cmocka_unit_test(test_direct),
	    cmocka_unit_test(test_direct_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
