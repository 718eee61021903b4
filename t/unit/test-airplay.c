/* test-airplay - lib/airplay.c against a scripted device on 127.0.0.1: a
 * child process that accepts one connection, reads each request, hands
 * its bytes to the test and answers with the script's next reply, whatever
 * a real device may send: an empty /pair-pin-start reply without
 * Content-Length on a connection that stays open (issue 9 point 6), a
 * 10 MB header line (point 15), a /playback-info plist bomb (point 11),
 * and the exact /play request for AirPlay 1 and AirPlay 2 (point 5)
 * (cmocka). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "airplay.h"
#include "buf.h"
#include "tcp.h"

#define REQ_MAX (64 * 1024)

/* One reply of the script: bytes, or a generated 10 MB header line. */
struct step {
	const void *p;
	size_t len;
	int huge_header;
};

struct device {
	pid_t pid;
	int port;
	int reqs; /* the child writes each request it read here (4-byte length, bytes) */
};

/* Read one request (head and Content-Length body) from fd into b. */
static int read_request(int fd, struct atv_buf *b)
{
	char *end;
	size_t want = 0;

	atv_buf_reset(b);
	for (;;) {
		ssize_t n;

		if (atv_buf_reserve(b, 4096, NULL) < 0)
			return -1;
		if (b->len && (end = memmem(b->data, b->len, "\r\n\r\n", 4)) != NULL) {
			const char *cl = memmem(b->data, (size_t)(end - (char *)b->data),
						"Content-Length: ", 16);

			want = (size_t)(end + 4 - (char *)b->data) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
			if (b->len >= want)
				return 0;
		}
		n = recv(fd, b->data + b->len, 4096, 0);
		if (n <= 0)
			return -1;
		b->len += (size_t)n;
	}
}

static void send_huge_header(int fd)
{
	static char chunk[65536];
	const char *head = "HTTP/1.1 200 OK\r\nX-Long: ";

	memset(chunk, 'a', sizeof chunk);
	if (send(fd, head, strlen(head), MSG_NOSIGNAL) < 0)
		return;
	for (size_t sent = 0; sent < 10 * 1024 * 1024; sent += sizeof chunk)
		if (send(fd, chunk, sizeof chunk, MSG_NOSIGNAL) < 0)
			return; /* the client gave up: as it should */
}

static void child(int l, int reqs, const struct step *script, size_t n)
{
	struct atv_buf b;
	int fd = accept(l, NULL, NULL);

	atv_buf_init(&b, REQ_MAX);
	for (size_t i = 0; fd >= 0 && i < n; i++) {
		uint32_t len;

		if (read_request(fd, &b) < 0)
			break;
		len = (uint32_t)b.len;
		if (write(reqs, &len, 4) != 4 || write(reqs, b.data, b.len) != (ssize_t)b.len)
			break;
		if (script[i].huge_header)
			send_huge_header(fd);
		else if (script[i].len && send(fd, script[i].p, script[i].len, MSG_NOSIGNAL) < 0)
			break;
	}
	/* keep the connection open until the client closes it */
	while (fd >= 0 && read_request(fd, &b) == 0)
		;
	_exit(0);
}

static void device_start(struct device *d, const struct step *script, size_t n)
{
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof sa;
	int l, p[2];

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
	assert_int_equal(pipe(p), 0);
	d->port = ntohs(sa.sin_port);
	d->pid = fork();
	assert_true(d->pid >= 0);
	if (d->pid == 0) {
		close(p[0]);
		child(l, p[1], script, n);
	}
	close(l);
	close(p[1]);
	d->reqs = p[0];
}

/* The next request the device read, NUL-terminated in b. */
static void device_request(struct device *d, struct atv_buf *b)
{
	uint32_t len;

	assert_int_equal(read(d->reqs, &len, 4), 4);
	assert_true(len < REQ_MAX);
	atv_buf_reset(b);
	assert_int_equal(atv_buf_reserve(b, len + 1, NULL), 0);
	for (size_t got = 0; got < len;) {
		ssize_t n = read(d->reqs, b->data + got, len - got);

		assert_true(n > 0);
		got += (size_t)n;
	}
	b->len = len;
	b->data[len] = '\0';
}

static void device_stop(struct device *d)
{
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	close(d->reqs);
}

static const struct atv_airplay_opts opts = {.timeout_ms = 3000, .device = "Scripted"};

/* AirPlay 1 in the clear, or AirPlay 2 without pairing: no requests at
 * open. */
static struct atv_airplay *open_plain(struct device *d, int version)
{
	struct atv_airplay_info info = {.version = version, .hap = version == 2,
					.pairing = ATV_AP_PAIRING_NOT_NEEDED};
	struct atv_airplay *a = NULL;
	struct atv_err err = {0};

	if (atv_airplay_open("127.0.0.1", d->port, &info, NULL, &opts, &a, &err) < 0)
		fail_msg("open: %s", err.msg);
	return a;
}

/* Issue 9 point 6: the empty reply is complete after its head; pairing
 * goes on at once instead of waiting for a close that never comes. */
static void test_pin_start_no_length(void **state)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nServer: AirTunes/366.0\r\n\r\n";
	const struct step script[] = {{ok, sizeof ok - 1, 0}};
	struct atv_airplay_info info = {.version = 2, .hap = true,
					.pairing = ATV_AP_PAIRING_MANDATORY};
	struct atv_airplay_pairing *p = NULL;
	struct atv_err err = {0};
	struct atv_buf req;
	struct device d;
	int64_t t0;

	(void)state;
	device_start(&d, script, 1);
	atv_buf_init(&req, REQ_MAX);
	t0 = atv_clock_ms();
	if (atv_airplay_pair_begin("127.0.0.1", d.port, &info, &opts, &p, &err) < 0)
		fail_msg("pair_begin: %s", err.msg);
	assert_true(atv_clock_ms() - t0 < 1500);
	device_request(&d, &req);
	assert_non_null(strstr((char *)req.data, "POST /pair-pin-start HTTP/1.1\r\n"));
	assert_non_null(strstr((char *)req.data, "\r\nContent-Length: 0\r\n"));
	atv_airplay_pair_free(p);
	atv_buf_release(&req);
	device_stop(&d);
}

/* A device that does not answer: the request is named with the time it
 * had, and the connection is not used again (a late answer would be taken
 * for the next request's). */
static void test_no_answer(void **state)
{
	static const char late[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	const struct step script[] = {{late, 0, 0}};
	const struct atv_airplay_opts quick = {.timeout_ms = 300, .device = "Scripted"};
	struct atv_airplay_info info = {.version = 1, .pairing = ATV_AP_PAIRING_NOT_NEEDED};
	struct atv_airplay_playback pb;
	struct atv_err err = {0};
	struct atv_airplay *a = NULL;
	struct device d;

	(void)state;
	device_start(&d, script, 1);
	assert_int_equal(atv_airplay_open("127.0.0.1", d.port, &info, NULL, &quick, &a, &err), 0);
	assert_int_equal(atv_airplay_playback(a, &pb, &err), -ATV_E_UNREACHABLE);
	assert_string_equal(err.msg,
			    "Scripted: GET /playback-info: no complete answer within 300 ms");
	assert_int_equal(atv_airplay_stop(a, &err), -ATV_E_UNREACHABLE);
	assert_non_null(strstr(err.msg, "POST /stop: the connection failed on an earlier request"));
	atv_airplay_close(a);
	device_stop(&d);
}

/* Issue 9 point 15: a 10 MB header line is a protocol limit (exit 5),
 * found as soon as the line passes its bound. */
static void test_huge_header(void **state)
{
	const struct step script[] = {{NULL, 0, 1}};
	struct atv_airplay_playback pb;
	struct atv_err err = {0};
	struct atv_airplay *a;
	struct device d;

	(void)state;
	device_start(&d, script, 1);
	a = open_plain(&d, 1);
	assert_int_equal(atv_airplay_playback(a, &pb, &err), -ATV_E_LIMIT);
	assert_string_equal(err.msg, "Scripted: GET /playback-info: a header line longer than "
				     "8192 bytes");
	atv_airplay_close(a);
	device_stop(&d);
}

/* Issue 9 point 11: the fuzz corpus's bomb (249 bytes of binary plist
 * whose arrays reference the next 14 times, 12 deep: ~5.7e13 nodes once
 * libplist copies them) as /playback-info: refused at once, before
 * libplist sees it. */
static void test_plist_bomb(void **state)
{
	static uint8_t reply[1024];
	const char *top = getenv("top_srcdir");
	char path[4096];
	struct step script[1];
	struct atv_airplay_playback pb;
	struct atv_err err = {0};
	struct atv_airplay *a;
	struct device d;
	size_t len, blen;
	int64_t t0;
	FILE *f;

	(void)state;
	snprintf(path, sizeof path, "%s/t/fuzz/corpus/plist/bomb-14x12", top ? top : ".");
	f = fopen(path, "rb");
	if (!f)
		fail_msg("%s: not found (set top_srcdir)", path);
	len = (size_t)snprintf((char *)reply, sizeof reply,
			       "HTTP/1.1 200 OK\r\nContent-Type: application/x-apple-binary-plist\r\n"
			       "Content-Length: 249\r\n\r\n");
	blen = fread(reply + len, 1, sizeof reply - len, f);
	fclose(f);
	assert_int_equal(blen, 249);
	script[0] = (struct step){reply, len + blen, 0};
	device_start(&d, script, 1);
	a = open_plain(&d, 2);
	t0 = atv_clock_ms();
	assert_int_equal(atv_airplay_playback(a, &pb, &err), -ATV_E_LIMIT);
	assert_true(atv_clock_ms() - t0 < 1000);
	assert_non_null(strstr(err.msg, "expands to over"));
	atv_airplay_close(a);
	device_stop(&d);
}

/* Issue 9 point 5: /play as pyatv sends it to an AirPlay 1 receiver, and
 * the fuller form to an AirPlay 2 device. */
static void play_request(int version, struct atv_buf *req)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	static const char gone[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
	const struct step script[] = {{ok, sizeof ok - 1, 0}, {gone, sizeof gone - 1, 0}};
	struct atv_airplay_playback pb;
	struct atv_err err = {0};
	struct atv_airplay *a;
	struct device d;

	device_start(&d, script, 2);
	a = open_plain(&d, version);
	/* the /playback-info that follows is refused: only /play matters */
	assert_int_equal(atv_airplay_play_url(a, "http://127.0.0.1:9/movie.mp4", 1.5, false, NULL,
					      NULL, &pb, &err),
			 -ATV_E_REFUSED);
	device_request(&d, req);
	atv_airplay_close(a);
	device_stop(&d);
}

static bool has(const struct atv_buf *b, const char *s)
{
	return memmem(b->data, b->len, s, strlen(s)) != NULL;
}

static void test_play_airplay1(void **state)
{
	struct atv_buf req;

	(void)state;
	atv_buf_init(&req, REQ_MAX);
	play_request(1, &req);
	assert_true(has(&req, "POST /play HTTP/1.1\r\n"));
	assert_true(has(&req, "\r\nUser-Agent: MediaControl/1.0\r\n"));
	assert_true(has(&req, "\r\nContent-Type: application/x-apple-binary-plist\r\n"));
	assert_false(has(&req, "AirPlay/320.20"));
	assert_true(has(&req, "Content-Location"));
	assert_true(has(&req, "Start-Position"));
	assert_false(has(&req, "Start-Position-Seconds"));
	assert_true(has(&req, "X-Apple-Session-ID"));
	assert_true(has(&req, "bplist00"));
	atv_buf_release(&req);
}

static void test_play_airplay2(void **state)
{
	struct atv_buf req;

	(void)state;
	atv_buf_init(&req, REQ_MAX);
	play_request(2, &req);
	assert_true(has(&req, "\r\nUser-Agent: AirPlay/320.20\r\n"));
	assert_true(has(&req, "\r\nX-Apple-Session-ID: "));
	assert_true(has(&req, "Start-Position-Seconds"));
	assert_true(has(&req, "uuid"));
	atv_buf_release(&req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pin_start_no_length),
	    cmocka_unit_test(test_no_answer),
	    cmocka_unit_test(test_huge_header),
	    cmocka_unit_test(test_plist_bomb),
	    cmocka_unit_test(test_play_airplay1),
	    cmocka_unit_test(test_play_airplay2),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
