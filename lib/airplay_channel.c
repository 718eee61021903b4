/* airplay_channel.c - an AirPlay TCP connection that turns HAP-encrypted:
 * sealed and opened in place for our own HTTP/RTSP layer (direct), or
 * pumped to a socket pair for an HTTP library (the fake's libmicrohttpd);
 * see airplay_channel.h for the contract. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "bytes.h"
#include "airplay_channel.h"
#include "hap.h"
#include "banned.h"

/* Peers may send blocks of up to 65535 plaintext bytes (2-byte length,
 * ciphertext, 16-byte tag): the most a partial block can ever need. */
#define RAW_MAX (2 + 65535 + ATV_AEAD_TAG_LEN)

/* What one block we seal costs on top of its plaintext. */
#define SEAL_OVERHEAD (2 + ATV_AEAD_TAG_LEN)

/* Bytes per recv() and plaintext per sealing step (a multiple of
 * ATV_HAP_BLOCK_MAX so full blocks go out). */
#define CHUNK (16 * 1024)

/* Rounds of pump() before it returns even if bytes still move, so one busy
 * direction cannot keep the caller from its other work. */
#define PUMP_ROUNDS 64

struct atv_channel {
	int tcp;	    /* the connection to the peer */
	int inner;	    /* our end of the local side (socket pair or attached) */
	int local;	    /* the socket pair's other end, -1 once taken or attached */
	struct atv_buf out; /* local -> TCP: as they go on the wire (sealed once encrypted) */
	struct atv_buf in;  /* TCP -> local: plaintext */
	struct atv_buf raw; /* TCP -> local while encrypted: the start of a partial block */
	struct atv_hap_cipher c;
	int encrypted;
	int tcp_eof;   /* the peer sent FIN */
	int local_eof; /* the local side shut down writing or closed */
	int dead;      /* finished or failed: later pumps return err */
	struct atv_err err;
};

static int set_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

/* Plaintext that fits into room bytes of sealed blocks. */
static size_t seal_room(size_t room)
{
	size_t full = room / (ATV_HAP_BLOCK_MAX + SEAL_OVERHEAD);
	size_t rest = room % (ATV_HAP_BLOCK_MAX + SEAL_OVERHEAD);

	return full * ATV_HAP_BLOCK_MAX + (rest > SEAL_OVERHEAD ? rest - SEAL_OVERHEAD : 0);
}

struct atv_channel *atv_channel_new_direct(int tcp_fd, struct atv_err *err)
{
	struct atv_channel *ch;

	ch = calloc(1, sizeof *ch);
	if (!ch) {
		close(tcp_fd);
		atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return NULL;
	}
	ch->tcp = tcp_fd;
	ch->inner = ch->local = -1;
	atv_buf_init(&ch->out, ATV_CHANNEL_BUF_MAX);
	atv_buf_init(&ch->in, ATV_CHANNEL_BUF_MAX);
	atv_buf_init(&ch->raw, RAW_MAX);
	if (set_flags(tcp_fd) < 0) {
		atv_err_sys(err, ATV_E_IO, errno, "unable to set up the connection");
		atv_channel_free(ch);
		return NULL;
	}
	return ch;
}

struct atv_channel *atv_channel_new(int tcp_fd, struct atv_err *err)
{
	struct atv_channel *ch = atv_channel_new_direct(tcp_fd, err);
	int sp[2];

	if (!ch)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0) {
		atv_err_sys(err, ATV_E_IO, errno, "unable to create a socket pair");
		atv_channel_free(ch);
		return NULL;
	}
	ch->local = sp[0];
	ch->inner = sp[1];
	return ch;
}

int atv_channel_send(struct atv_channel *ch, const void *p, size_t len, struct atv_err *err)
{
	int r;

	if (ch->inner >= 0)
		return atv_err_set(err, ATV_E_USAGE, "not a direct channel");
	if (ch->dead) {
		if (err)
			*err = ch->err;
		return -ch->err.code;
	}
	if (!ch->encrypted)
		r = atv_buf_append(&ch->out, p, len, err);
	else if (len > seal_room(ch->out.max - ch->out.len))
		r = atv_err_set(err, ATV_E_LIMIT, "more than %d bytes queued",
				ATV_CHANNEL_BUF_MAX);
	else
		r = atv_hap_cipher_seal_blocks(&ch->c, p, len, &ch->out, err);
	return r;
}

struct atv_buf *atv_channel_input(struct atv_channel *ch)
{
	return &ch->in;
}

int atv_channel_local_fd(const struct atv_channel *ch)
{
	return ch->local;
}

int atv_channel_take_local(struct atv_channel *ch)
{
	int fd = ch->local;

	ch->local = -1;
	return fd;
}

int atv_channel_tcp_fd(const struct atv_channel *ch)
{
	return ch->tcp;
}

int atv_channel_partial(const struct atv_channel *ch)
{
	return ch->encrypted && ch->raw.len > 0;
}

int atv_channel_encrypted(const struct atv_channel *ch)
{
	return ch->encrypted;
}

/* How many bytes we may read from the local side now. */
static size_t local_room(const struct atv_channel *ch)
{
	size_t room = ch->out.max - ch->out.len;

	return ch->encrypted ? seal_room(room) : room;
}

/* How many bytes we may read from TCP now. */
static size_t tcp_room(const struct atv_channel *ch)
{
	if (ch->encrypted)
		return ch->raw.max - ch->raw.len;
	return ch->in.max - ch->in.len;
}

size_t atv_channel_pollfds(const struct atv_channel *ch, struct pollfd pfd[2])
{
	size_t n = 0;
	short ev;

	if (ch->dead)
		return 0;
	/* an fd with nothing to wait for stays out: poll() reports a hangup
	 * even without events, and would wake the caller for ever */
	ev = 0;
	if (!ch->tcp_eof && tcp_room(ch) > 0)
		ev |= POLLIN;
	if (ch->out.len > 0)
		ev |= POLLOUT;
	if (ev) {
		pfd[n].fd = ch->tcp;
		pfd[n].events = ev;
		pfd[n].revents = 0;
		n++;
	}
	if (ch->inner < 0)
		return n; /* direct: the caller reads and writes itself */
	ev = 0;
	if (!ch->local_eof && local_room(ch) > 0)
		ev |= POLLIN;
	if (ch->in.len > 0)
		ev |= POLLOUT;
	if (ev) {
		pfd[n].fd = ch->inner;
		pfd[n].events = ev;
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

/* The channel ends with code (and the message in ch->err).  On a failure
 * both sockets are shut down, so the HTTP library reads what was already
 * delivered and then an end instead of waiting for a dead channel. */
static int die(struct atv_channel *ch, struct atv_err *err, int clean)
{
	ch->dead = 1;
	if (!clean) {
		if (ch->inner >= 0)
			shutdown(ch->inner, SHUT_RDWR);
		shutdown(ch->tcp, SHUT_RDWR);
	}
	if (err)
		*err = ch->err;
	return -ch->err.code;
}

/* What one recv() or send() on a non-blocking socket came to. */
enum io {
	IO_AGAIN, /* nothing moved now (EAGAIN, or nothing to do) */
	IO_MOVED, /* bytes moved */
	IO_EOF,	  /* the end of the stream */
	IO_ERRNO, /* an error, errno says which */
	IO_NOMEM  /* out of memory */
};

/* recv() into b, at most max bytes. */
static enum io recv_into(int fd, struct atv_buf *b, size_t max)
{
	ssize_t got;

	if (max > CHUNK)
		max = CHUNK;
	/* callers pass max <= b->max - b->len: only memory can run out */
	if (atv_buf_reserve(b, max, NULL) < 0)
		return IO_NOMEM;
	do
		got = recv(fd, b->data + b->len, max, 0);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? IO_AGAIN : IO_ERRNO;
	if (got == 0)
		return IO_EOF;
	b->len += (size_t)got;
	return IO_MOVED;
}

/* send() from the start of b (IO_ERRNO with EPIPE when the other side is
 * gone). */
static enum io send_from(int fd, struct atv_buf *b)
{
	ssize_t sent;

	do
		sent = send(fd, b->data, b->len, MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	if (sent < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? IO_AGAIN : IO_ERRNO;
	atv_buf_consume(b, (size_t)sent);
	return sent > 0 ? IO_MOVED : IO_AGAIN;
}

/* The steps of a pump: each returns 0, or -ATV_E_* with ch->err saying
 * why; *moved is set when bytes moved. */

/* Local -> out: as is while plain, sealed in blocks once encrypted. */
static int read_local(struct atv_channel *ch, int *moved)
{
	size_t room = local_room(ch);
	uint8_t pt[CHUNK];
	ssize_t got;
	enum io r;

	if (ch->inner < 0 || ch->local_eof || room == 0)
		return 0;
	if (!ch->encrypted) {
		r = recv_into(ch->inner, &ch->out, room);
		goto done;
	}
	if (room > sizeof pt)
		room = sizeof pt;
	do
		got = recv(ch->inner, pt, room, 0);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		r = errno == EAGAIN || errno == EWOULDBLOCK ? IO_AGAIN : IO_ERRNO;
	else if (got == 0)
		r = IO_EOF;
	else
		r = IO_MOVED;
	if (r == IO_MOVED) {
		/* room was computed so that the sealed blocks fit */
		if (atv_hap_cipher_seal_blocks(&ch->c, pt, (size_t)got, &ch->out, &ch->err) < 0) {
			OPENSSL_cleanse(pt, (size_t)got);
			return -ch->err.code;
		}
		OPENSSL_cleanse(pt, (size_t)got);
	}
done:
	switch (r) {
	case IO_AGAIN: break;
	case IO_MOVED: *moved = 1; break;
	case IO_EOF: ch->local_eof = 1; break;
	case IO_NOMEM: return atv_err_set(&ch->err, ATV_E_NOMEM, "out of memory");
	case IO_ERRNO:
		/* the HTTP library reset its end: as good as closed */
		if (errno == ECONNRESET || errno == EPIPE) {
			ch->local_eof = 1;
			return 0;
		}
		atv_err_sys(&ch->err, ATV_E_IO, errno, "unable to read from the local socket");
		return -ch->err.code;
	}
	return 0;
}

/* out -> TCP. */
static int write_tcp(struct atv_channel *ch, int *moved)
{
	enum io r;

	if (ch->out.len == 0)
		return 0;
	r = send_from(ch->tcp, &ch->out);
	if (r == IO_MOVED)
		*moved = 1;
	if (r == IO_ERRNO) {
		atv_err_sys(&ch->err, ATV_E_UNREACHABLE, errno, "connection lost");
		return -ch->err.code;
	}
	return 0;
}

/* raw -> in while encrypted: every complete block that fits. */
static int decode(struct atv_channel *ch, int *moved)
{
	size_t room = ch->in.max - ch->in.len, consumed = 0, n = ch->raw.len;
	int r;

	if (!ch->encrypted || n == 0)
		return 0;
	/* a block's plaintext is shorter than the block: offering no more
	 * than room bytes keeps in under its cap, and a block that does not
	 * fit yet stays in raw until the local side reads */
	if (n > room)
		n = room;
	r = atv_hap_cipher_open_blocks(&ch->c, ch->raw.data, n, &consumed, &ch->in, &ch->err);
	if (consumed) {
		atv_buf_consume(&ch->raw, consumed);
		*moved = 1;
	}
	if (r < 0) {
		atv_err_prefix(&ch->err, "encrypted block from the peer");
		return -ch->err.code;
	}
	return 0;
}

/* TCP -> in (plain) or raw (encrypted). */
static int read_tcp(struct atv_channel *ch, int *moved)
{
	size_t room = tcp_room(ch);
	enum io r;

	if (ch->tcp_eof || room == 0)
		return 0;
	r = recv_into(ch->tcp, ch->encrypted ? &ch->raw : &ch->in, room);
	if (r == IO_MOVED)
		*moved = 1;
	else if (r == IO_EOF)
		ch->tcp_eof = 1;
	else if (r == IO_NOMEM) {
		atv_err_set(&ch->err, ATV_E_NOMEM, "out of memory");
		return -ch->err.code;
	} else if (r == IO_ERRNO) {
		atv_err_sys(&ch->err, ATV_E_UNREACHABLE, errno, "connection lost");
		return -ch->err.code;
	}
	return 0;
}

/* in -> local. */
static int write_local(struct atv_channel *ch, int *moved)
{
	enum io r;

	if (ch->inner < 0 || ch->in.len == 0)
		return 0;
	r = send_from(ch->inner, &ch->in);
	if (r == IO_MOVED)
		*moved = 1;
	if (r == IO_ERRNO) {
		if (errno == EPIPE || errno == ECONNRESET)
			atv_err_set(&ch->err, ATV_E_UNREACHABLE, "connection closed locally");
		else
			atv_err_sys(&ch->err, ATV_E_IO, errno,
				    "unable to write to the local socket");
		return -ch->err.code;
	}
	return 0;
}

/* 1 when b starts with a whole block. */
static int complete_block(const struct atv_buf *b)
{
	return b->len >= 2 && b->len - 2 >= (size_t)atv_get_le16(b->data) + ATV_AEAD_TAG_LEN;
}

int atv_channel_pump(struct atv_channel *ch, struct atv_err *err)
{
	int moved = 1;

	if (ch->dead) {
		if (err)
			*err = ch->err;
		return -ch->err.code;
	}
	for (int round = 0; moved && round < PUMP_ROUNDS; round++) {
		moved = 0;
		if (read_local(ch, &moved) < 0 || write_tcp(ch, &moved) < 0 ||
		    read_tcp(ch, &moved) < 0 || decode(ch, &moved) < 0 ||
		    write_local(ch, &moved) < 0)
			return die(ch, err, 0);
	}
	/* the peer closed: once everything it sent is delivered (socket
	 * pair: written to the local side, which sees the end too; direct:
	 * opened into the input, which stays for the caller), the channel
	 * ends.  What is left in raw then is a block cut short: malformed,
	 * not just an end. */
	if (ch->tcp_eof && (ch->inner < 0 || ch->in.len == 0) && !complete_block(&ch->raw)) {
		if (ch->inner >= 0)
			shutdown(ch->inner, SHUT_WR);
		if (ch->raw.len)
			atv_err_set(&ch->err, ATV_E_PROTO,
				    "connection closed by the peer inside an encrypted block");
		else
			atv_err_set(&ch->err, ATV_E_UNREACHABLE, "connection closed by the peer");
		return die(ch, err, 1);
	}
	/* the local side closed: once what it wrote went out, so does TCP */
	if (ch->local_eof && ch->out.len == 0) {
		shutdown(ch->tcp, SHUT_WR);
		atv_err_set(&ch->err, ATV_E_UNREACHABLE, "connection closed locally");
		return die(ch, err, 1);
	}
	return 0;
}

/* 1 when the local side has written bytes we have not read. */
static int local_pending(const struct atv_channel *ch)
{
	uint8_t b;
	ssize_t got;

	do
		got = recv(ch->inner, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	while (got < 0 && errno == EINTR);
	return got > 0;
}

/* Queue what the local side wrote so far (plain), for a switch that must
 * not split it.  0, or an error that killed the channel. */
static int drain_local(struct atv_channel *ch, struct atv_err *err)
{
	int moved;

	if (ch->inner < 0)
		return 0;
	do {
		moved = 0;
		if (read_local(ch, &moved) < 0)
			return die(ch, err, 0);
	} while (moved && local_room(ch) > 0);
	if (!ch->local_eof && local_room(ch) == 0 && local_pending(ch)) {
		/* more than we queue: we cannot tell where it ends */
		atv_err_set(&ch->err, ATV_E_LIMIT, "more than %d bytes queued before a switch",
			    ATV_CHANNEL_BUF_MAX);
		return die(ch, err, 0);
	}
	return 0;
}

int atv_channel_encrypt(struct atv_channel *ch, const struct atv_hap_cipher *c, struct atv_err *err)
{
	int r;

	if (ch->encrypted)
		return atv_err_set(err, ATV_E_USAGE, "channel is already encrypted");
	if (ch->dead) {
		if (err)
			*err = ch->err;
		return -ch->err.code;
	}
	/* the last plain message may still sit in the socket pair: it goes
	 * out as it is, everything after it sealed */
	r = drain_local(ch, err);
	if (r < 0)
		return r;
	ch->c = *c;
	ch->encrypted = 1;
	return 0;
}

void atv_channel_free(struct atv_channel *ch)
{
	if (!ch)
		return;
	if (ch->tcp >= 0)
		close(ch->tcp);
	if (ch->inner >= 0)
		close(ch->inner);
	if (ch->local >= 0)
		close(ch->local);
	atv_buf_release(&ch->out);
	atv_buf_release(&ch->in);
	atv_buf_release(&ch->raw);
	atv_hap_cipher_wipe(&ch->c);
	free(ch);
}
