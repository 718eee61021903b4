/* test-mrp-session - an MRP session's waits against hostile peers
 * (cmocka): every wait ends at its deadline whatever the peer sends,
 * whether an endless stream of valid messages none of which is the reply,
 * or a frame trickling in a byte at a time.
 *
 * The peer is a forked child on a loopback socket of its own (port 0, so
 * tests never collide).  It echoes our DEVICE_INFO back (a valid reply:
 * the type and identifier match) and then behaves as the test asks.  A
 * SIGALRM ends the whole program if a wait hangs: that is the failure
 * these tests exist for. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mrp.h"
#include "mrp_frame.h"
#include "tcp.h"

#define TIMEOUT_MS 300
/* How late a wait may end: scheduling on a loaded 2-core machine. */
#define SLACK_MS 2000

enum peer_mode {
	FLOOD_AT_ONCE,	     /* valid frames from the start, DEVICE_INFO unanswered */
	ECHO_THEN_FLOOD,     /* DEVICE_INFO answered, then valid frames forever */
	ECHO_THEN_TRICKLE,   /* DEVICE_INFO answered, then one frame a byte at a time */
};

struct peer {
	pid_t pid;
	int port;
	unsigned pushes; /* messages the session handed to the push callback */
};

/* Read (or write) exactly n bytes on a blocking socket; -1 on EOF or
 * error. */
static int io_all(int fd, uint8_t *p, size_t n, bool out)
{
	while (n > 0) {
		ssize_t k = out ? send(fd, p, n, MSG_NOSIGNAL) : read(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
	return io_all(fd, p, n, false);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	return io_all(fd, (uint8_t *)p, n, true);
}

/* Read one frame and send it back unchanged. */
static int echo_frame(int fd)
{
	uint8_t hdr[ATV_MRP_VARINT_MAX], *body;
	size_t n = 0, len = 0;
	int r;

	do {
		if (n == sizeof hdr || read_all(fd, hdr + n, 1) < 0)
			return -1;
		len |= (size_t)(hdr[n] & 0x7f) << (7 * n);
	} while (hdr[n++] & 0x80);
	if (len > ATV_MRP_MAX_FRAME || !(body = malloc(len ? len : 1)))
		return -1;
	r = read_all(fd, body, len);
	if (r == 0)
		r = write_all(fd, hdr, n);
	if (r == 0)
		r = write_all(fd, body, len);
	free(body);
	return r;
}

static void peer_run(int lfd, enum peer_mode mode)
{
	/* 02 08 01: a frame of 2 bytes, a ProtocolMessage of type 1
	 * (SEND_COMMAND_MESSAGE) -- valid, and never a reply */
	static uint8_t flood[3 * 4096];
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		_exit(1);
	for (size_t i = 0; i < sizeof flood; i += 3)
		memcpy(flood + i, "\x02\x08\x01", 3);
	if (mode != FLOOD_AT_ONCE && echo_frame(fd) < 0)
		_exit(1);
	if (mode == ECHO_THEN_TRICKLE) {
		/* a frame of 1000 bytes, 20 ms a byte: 20 s for all of it */
		if (write_all(fd, (const uint8_t *)"\xe8\x07", 2) < 0)
			_exit(0);
		for (int i = 0; i < 1000; i++) {
			usleep(20000);
			if (write_all(fd, (const uint8_t *)"\x08", 1) < 0)
				_exit(0);
		}
		_exit(0);
	}
	while (write_all(fd, flood, sizeof flood) == 0)
		;
	_exit(0); /* the session closed the connection */
}

static void peer_start(struct peer *p, enum peer_mode mode)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof a;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(lfd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	p->port = ntohs(a.sin_port);
	p->pushes = 0;
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0)
		peer_run(lfd, mode);
	close(lfd);
}

static void peer_stop(struct peer *p)
{
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
}

static void count_push(void *ctx, const Mrp__ProtocolMessage *m)
{
	struct peer *p = ctx;

	(void)m;
	p->pushes++;
}

static struct atv_mrp *session(struct peer *p, enum peer_mode mode)
{
	struct atv_mrp_opts o = {.timeout_ms = TIMEOUT_MS, .push = count_push};
	struct atv_mrp *s = NULL;
	struct atv_err err = {0};

	o.push_ctx = p;
	peer_start(p, mode);
	assert_int_equal(atv_mrp_connect("127.0.0.1", p->port, &o, &s, &err), 0);
	return s;
}

/* The wait that began at t0 ended within the timeout and the slack. */
static void ended_in_time(int64_t t0, int ms)
{
	int64_t took = atv_clock_ms() - t0;

	assert_true(took >= ms - 5);
	assert_true(took <= ms + SLACK_MS);
}

/* Holding a key: atv_mrp_pump for 100 ms returns after 100 ms. */
static void pump_on_time(struct atv_mrp *s)
{
	struct atv_err err = {0};
	int64_t t0 = atv_clock_ms();

	assert_int_equal(atv_mrp_pump(s, 100, &err), 0);
	ended_in_time(t0, 100);
}

static void session_end(struct atv_mrp *s, struct peer *p)
{
	atv_mrp_close(s);
	peer_stop(p);
}

static void test_flood_connect(void **state)
{
	struct atv_mrp_opts o = {.timeout_ms = TIMEOUT_MS, .push = count_push};
	struct atv_mrp *s = NULL;
	struct atv_err err = {0};
	struct peer p;
	int64_t t0;

	(void)state;
	o.push_ctx = &p;
	peer_start(&p, FLOOD_AT_ONCE);
	t0 = atv_clock_ms();
	assert_int_equal(atv_mrp_connect("127.0.0.1", p.port, &o, &s, &err), -ATV_E_UNREACHABLE);
	ended_in_time(t0, TIMEOUT_MS);
	assert_null(s);
	assert_non_null(strstr(err.msg, "did not answer DEVICE_INFO"));
	assert_true(p.pushes > 0);
	peer_stop(&p);
}

static void test_flood_request(void **state)
{
	struct atv_buf b;
	struct atv_mrp_ids ids;
	struct atv_err err = {0};
	Mrp__ProtocolMessage *reply = NULL;
	struct peer p;
	struct atv_mrp *s = session(&p, ECHO_THEN_FLOOD);
	int64_t t0;

	(void)state;
	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	assert_int_equal(
	    atv_mrp_msg_empty(&b, &ids, MRP__PROTOCOL_MESSAGE__TYPE__GENERIC_MESSAGE, &err), 0);
	t0 = atv_clock_ms();
	assert_int_equal(atv_mrp_request(s, &b, ids.identifier, &reply, &err),
			 -ATV_E_UNREACHABLE);
	ended_in_time(t0, TIMEOUT_MS);
	assert_null(reply);
	assert_non_null(strstr(err.msg, "did not answer GENERIC_MESSAGE"));
	assert_true(p.pushes > 0);
	/* a missed reply leaves the session working */
	assert_int_equal(atv_mrp_broken(s), 0);
	t0 = atv_clock_ms();
	assert_int_equal(atv_mrp_sync(s, &err), -ATV_E_UNREACHABLE);
	ended_in_time(t0, TIMEOUT_MS);
	atv_buf_release(&b);
	session_end(s, &p);
}

/* The pairing waits (atv-pair's pair-setup, pair-verify before every
 * command) are request waits too. */
static void test_flood_pairing(void **state)
{
	struct atv_buf tlv, reply;
	struct atv_err err = {0};
	struct peer p;
	struct atv_mrp *s = session(&p, ECHO_THEN_FLOOD);
	int64_t t0;

	(void)state;
	atv_buf_init(&tlv, 64);
	atv_buf_init(&reply, 64);
	assert_int_equal(atv_buf_append(&tlv, "\x06\x01\x01", 3, &err), 0);
	t0 = atv_clock_ms();
	assert_int_equal(atv_mrp_pair_exchange(s, &tlv, true, true, &reply, &err),
			 -ATV_E_UNREACHABLE);
	ended_in_time(t0, TIMEOUT_MS);
	assert_non_null(strstr(err.msg, "did not answer pairing"));
	atv_buf_release(&tlv);
	atv_buf_release(&reply);
	session_end(s, &p);
}

/* A key held (pump) and the tool's poll loop (process) come back on time
 * and keep working while the flood goes on. */
static void test_flood_pump_process(void **state)
{
	struct atv_err err = {0};
	struct peer p;
	struct atv_mrp *s = session(&p, ECHO_THEN_FLOOD);
	unsigned before;
	int64_t t0;

	(void)state;
	pump_on_time(s);
	for (int i = 0; i < 3; i++) {
		before = p.pushes;
		t0 = atv_clock_ms();
		assert_int_equal(atv_mrp_process(s, &err), 0);
		ended_in_time(t0, 0);
		assert_true(p.pushes > before);
		assert_true(p.pushes - before <= ATV_MRP_PROCESS_MAX_MSGS);
		/* stopped with more read: the poll loop is told to come back */
		if (p.pushes - before == ATV_MRP_PROCESS_MAX_MSGS)
			assert_int_equal(atv_mrp_timeout_ms(s), 0);
	}
	session_end(s, &p);
}

/* A frame that keeps arriving a byte at a time: a wait still ends at its
 * deadline, and the frame must be complete within the session timeout. */
static void test_trickle(void **state)
{
	struct atv_err err = {0};
	struct peer p;
	struct atv_mrp *s = session(&p, ECHO_THEN_TRICKLE);
	int64_t t0 = atv_clock_ms();
	int r;

	(void)state;
	pump_on_time(s);
	/* the poll loop: process until the session gives up on the frame */
	do {
		r = atv_mrp_process(s, &err);
		if (r == 0)
			usleep(10000);
	} while (r == 0 && atv_clock_ms() - t0 < TIMEOUT_MS + SLACK_MS);
	assert_int_equal(r, -ATV_E_PROTO);
	assert_non_null(strstr(err.msg, "did not finish a message within"));
	ended_in_time(t0, TIMEOUT_MS);
	session_end(s, &p);
}

/* An argument picks tests by name (a cmocka pattern: "test_flood*"). */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flood_connect),
		cmocka_unit_test(test_flood_request),
		cmocka_unit_test(test_flood_pairing),
		cmocka_unit_test(test_flood_pump_process),
		cmocka_unit_test(test_trickle),
	};

	/* a wait that never ends fails the program instead of hanging it */
	alarm(30);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
