/* companion-probe - a small Companion controller on lib/ (OPACK, HAP, the
 * Companion frames) for the fake Apple TV's tests (t/0036-fake-companion.t),
 * independent of atv-send's Companion backend.
 *
 *   companion-probe HOST PORT pair       PIN on stdin; prints the credentials
 *   companion-probe HOST PORT run        credentials on the first stdin line,
 *                                        then one step a line
 * Steps:
 *   req NAME [KEY=VALUE...]     a request; prints "NAME TEXT" for the reply
 *                               (TEXT: atv_opack_to_text of the message)
 *   event NAME [KEY=VALUE...]   an event, nothing waited for
 *   wait NAME                   until an event NAME comes; prints it
 * VALUE: digits are an int, with a dot a float, [a,b] an array of
 * strings, s:TEXT the string TEXT, anything else a string.  Events that arrive while waiting for
 * something else are printed as "event NAME TEXT".  Every wait is bounded
 * (5 s).  Errors: "companion-probe: message" on stderr, exit status from
 * atv_exit_status() (a reply that is no reply to the request: 5). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "companion_frame.h"
#include "err.h"
#include "hap.h"
#include "opack.h"
#include "tcp.h"

#define TIMEOUT_MS 5000

struct probe {
	int fd;
	struct atv_companion_frame_dec dec;
	struct atv_hap_cipher cipher;
	bool encrypted;
	uint8_t in[16384];
	size_t in_len, in_off;
	int64_t xid;
	char seen[16][64]; /* events printed while waiting for a reply */
	size_t n_seen;
};

static int send_frame(struct probe *p, uint8_t type, const struct atv_opack *v, struct atv_err *err)
{
	struct atv_buf b, f;
	int r;

	atv_buf_init(&b, ATV_COMPANION_MAX_FRAME);
	atv_buf_init(&f, ATV_COMPANION_MAX_FRAME + 64);
	r = atv_opack_encode(v, &b, err);
	if (r == 0)
		r = atv_companion_frame_encode(&f, type, b.data, b.len,
					       p->encrypted ? &p->cipher : NULL, err);
	if (r == 0)
		r = atv_tcp_write(p->fd, f.data, f.len, atv_deadline_ms(TIMEOUT_MS), err);
	atv_buf_release(&b);
	atv_buf_release(&f);
	return r;
}

/* The next frame's OPACK value (the caller frees it) and type. */
static int recv_frame(struct probe *p, uint8_t *type, struct atv_opack **v, struct atv_err *err)
{
	int64_t deadline = atv_deadline_ms(TIMEOUT_MS);

	for (;;) {
		struct atv_companion_frame f;
		size_t used = 0;
		bool eof = false;
		int r;

		if (p->in_off < p->in_len) {
			r = atv_companion_frame_dec_push(&p->dec, p->encrypted ? &p->cipher : NULL,
							 p->in + p->in_off, p->in_len - p->in_off,
							 &used, &f, err);
			if (r < 0)
				return r;
			p->in_off += used;
			if (r > 0) {
				*type = f.type;
				return atv_opack_decode(f.payload, f.len, v, err);
			}
		}
		p->in_off = p->in_len = 0;
		r = atv_tcp_read(p->fd, p->in, sizeof p->in, deadline, &p->in_len, &eof, err);
		if (r < 0)
			return r;
		if (eof)
			return atv_err_set(err, ATV_E_UNREACHABLE,
					   "the device closed the connection");
		if (p->in_len == 0)
			return atv_err_set(err, ATV_E_UNREACHABLE, "no answer within %d ms",
					   TIMEOUT_MS);
	}
}

/* One pairing exchange: {_pd: out} in frames first/next until done. */
static int exchange(struct probe *p, bool setup, void *h, struct atv_err *err)
{
	struct atv_buf out;
	const uint8_t *in = NULL;
	size_t inlen = 0;
	struct atv_opack *reply = NULL;
	uint8_t type;
	int r, step = 0;

	atv_buf_init(&out, ATV_HAP_MSG_MAX);
	for (;;) {
		struct atv_opack *m = atv_opack_dict();

		r = setup ? atv_hap_setup_step(h, in, inlen, &out, err)
			  : atv_hap_verify_step(h, in, inlen, &out, err);
		if (r < 0 || (r == ATV_HAP_DONE && out.len == 0)) {
			atv_opack_free(m);
			break;
		}
		if ((r = atv_opack_dict_set(m, "_pd", atv_opack_data(out.data, out.len))) == 0 &&
		    step == 0)
			r = atv_opack_dict_set(m, setup ? "_pwTy" : "_auTy",
					       atv_opack_int(setup ? 1 : 4));
		if (r == 0)
			r = send_frame(p,
				       (uint8_t)(setup ? (step ? ATV_COMPANION_PS_NEXT
							       : ATV_COMPANION_PS_START)
						       : (step ? ATV_COMPANION_PV_NEXT
							       : ATV_COMPANION_PV_START)),
				       m, err);
		atv_opack_free(m);
		if (r < 0)
			break;
		step++;
		atv_opack_free(reply);
		reply = NULL;
		if ((r = recv_frame(p, &type, &reply, err)) < 0)
			break;
		in = atv_opack_get_data(reply, "_pd", &inlen);
		if (!in) {
			r = atv_err_set(err, ATV_E_PROTO, "pairing reply without _pd");
			break;
		}
	}
	atv_opack_free(reply);
	atv_buf_release(&out);
	return r < 0 ? r : 0;
}

static int do_pair(struct probe *p, const char *pin, struct atv_err *err)
{
	struct atv_hap_setup *h =
	    atv_hap_setup_client_new(pin, "C0A1B2C3-0000-4000-8000-0000000000AA", NULL, err);
	static const uint8_t name[] = {0xe1, 0x44, 'n', 'a', 'm', 'e',
				       0x45, 'p',  'r', 'o', 'b', 'e'};
	char *creds = NULL;
	int r;

	if (!h)
		return -err->code;
	r = atv_hap_setup_set_name(h, name, sizeof name, err);
	if (r == 0)
		r = exchange(p, true, h, err);
	if (r == 0)
		r = atv_hap_setup_client_creds_string(h, &creds, err);
	if (r == 0)
		printf("%s\n", creds);
	if (creds) {
		atv_crypto_wipe(creds, strlen(creds));
		free(creds);
	}
	atv_hap_setup_free(h);
	return r;
}

static int do_verify(struct probe *p, const char *s, struct atv_err *err)
{
	struct atv_hap_creds c;
	struct atv_hap_verify *v = NULL;
	int r = atv_hap_creds_parse(s, &c, err);

	if (r == 0 && !(v = atv_hap_verify_client_new(&c, err)))
		r = -err->code;
	if (r == 0)
		r = exchange(p, false, v, err);
	if (r == 0)
		r = atv_hap_verify_cipher(v, ATV_COMPANION_SALT, ATV_COMPANION_WRITE,
					  ATV_COMPANION_READ, &p->cipher, err);
	p->encrypted = r == 0;
	atv_hap_verify_free(v);
	atv_hap_creds_wipe(&c);
	return r;
}

static struct atv_opack *parse_value(const char *s)
{
	char *end;
	long long i;
	double d;

	if (strncmp(s, "s:", 2) == 0)
		return atv_opack_str(s + 2);
	if (*s == '[') {
		struct atv_opack *a = atv_opack_array();
		char tmp[256], *tok, *save = NULL;

		snprintf(tmp, sizeof tmp, "%s", s + 1);
		tmp[strcspn(tmp, "]")] = '\0';
		for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			if (atv_opack_array_add(a, atv_opack_str(tok)) < 0) {
				atv_opack_free(a);
				return NULL;
			}
		return a;
	}
	i = strtoll(s, &end, 10);
	if (*s && !*end)
		return atv_opack_int(i);
	d = strtod(s, &end);
	if (*s && !*end && strchr(s, '.'))
		return atv_opack_float(d);
	return atv_opack_str(s);
}

static void print_msg(const char *prefix, const struct atv_opack *m)
{
	struct atv_buf t;

	atv_buf_init(&t, 1 << 20);
	if (atv_opack_to_text(m, &t, NULL) == 0)
		printf("%s%s %.*s\n", prefix,
		       atv_opack_get_str(m, "_i") ? atv_opack_get_str(m, "_i") : "?", (int)t.len,
		       (const char *)t.data);
	fflush(stdout);
	atv_buf_release(&t);
}

/* req/event NAME KEY=VALUE...: send; for req wait for the reply with our _x */
static int do_step(struct probe *p, char *line, struct atv_err *err)
{
	char *save = NULL, *verb = strtok_r(line, " \t\n", &save);
	char *name = verb ? strtok_r(NULL, " \t\n", &save) : NULL;
	struct atv_opack *m, *c, *in = NULL;
	bool req;
	int64_t x;
	uint8_t type;
	int r = 0;

	if (!verb)
		return 0;
	if (!name)
		return atv_err_set(err, ATV_E_USAGE, "step without a name");
	if (strcmp(verb, "wait") == 0) {
		for (size_t k = 0; k < p->n_seen; k++)
			if (strcmp(p->seen[k], name) == 0) {
				p->seen[k][0] = '\0';
				return 0;
			}
		for (;;) {
			if ((r = recv_frame(p, &type, &in, err)) < 0)
				return r;
			print_msg("event ", in);
			r = atv_opack_get_str(in, "_i") &&
			    strcmp(atv_opack_get_str(in, "_i"), name) == 0;
			atv_opack_free(in);
			if (r)
				return 0;
		}
	}
	req = strcmp(verb, "req") == 0;
	if (!req && strcmp(verb, "event") != 0)
		return atv_err_set(err, ATV_E_USAGE, "unknown step %s", verb);
	m = atv_opack_dict();
	c = atv_opack_dict();
	for (char *kv = strtok_r(NULL, " \t\n", &save); kv && r == 0;
	     kv = strtok_r(NULL, " \t\n", &save)) {
		char *eq = strchr(kv, '=');

		if (!eq)
			r = -ATV_E_USAGE;
		else {
			*eq = '\0';
			r = atv_opack_dict_set(c, kv, parse_value(eq + 1));
		}
	}
	x = p->xid++;
	if (r == 0)
		r = atv_opack_dict_set(m, "_i", atv_opack_str(name));
	if (r == 0)
		r = atv_opack_dict_set(m, "_t", atv_opack_int(req ? 2 : 1));
	if (r == 0)
		r = atv_opack_dict_set(m, "_x", atv_opack_int(x));
	if (r == 0)
		r = atv_opack_dict_set(m, "_c", c);
	else
		atv_opack_free(c);
	if (r == 0)
		r = send_frame(p, ATV_COMPANION_E_OPACK, m, err);
	else if (!err->code)
		atv_err_set(err, -r, "bad step");
	atv_opack_free(m);
	while (r == 0 && req) {
		int64_t t = 0, rx = -1;

		if ((r = recv_frame(p, &type, &in, err)) < 0)
			break;
		atv_opack_get_int(in, "_t", &t);
		atv_opack_get_int(in, "_x", &rx);
		if (t == 3) {
			const char *i = atv_opack_get_str(in, "_i");

			if (rx != x || !i || strcmp(i, name) != 0)
				r = atv_err_set(err, ATV_E_PROTO,
						"reply to %s with _x %lld, not %lld", i ? i : "?",
						(long long)rx, (long long)x);
			else
				print_msg("", in);
			atv_opack_free(in);
			break;
		}
		print_msg("event ", in);
		if (p->n_seen < 16 && atv_opack_get_str(in, "_i"))
			snprintf(p->seen[p->n_seen++], sizeof p->seen[0], "%s",
				 atv_opack_get_str(in, "_i"));
		atv_opack_free(in);
	}
	return r;
}

int main(int argc, char **argv)
{
	struct probe p = {.fd = -1, .xid = 100};
	struct atv_err err = {0, ""};
	char line[4096];
	int r;

	if (argc != 4 || (strcmp(argv[3], "pair") != 0 && strcmp(argv[3], "run") != 0)) {
		fprintf(stderr, "usage: companion-probe HOST PORT pair|run < input\n");
		return ATV_EXIT_USAGE;
	}
	atv_companion_frame_dec_init(&p.dec, 0);
	r = atv_tcp_connect(argv[1], atoi(argv[2]), TIMEOUT_MS, &p.fd, &err);
	if (r == 0 && !fgets(line, sizeof line, stdin))
		r = atv_err_set(&err, ATV_E_INPUT, "no %s on stdin",
				argv[3][0] == 'p' ? "pin" : "credentials");
	if (r == 0) {
		line[strcspn(line, "\r\n")] = '\0';
		r = argv[3][0] == 'p' ? do_pair(&p, line, &err) : do_verify(&p, line, &err);
	}
	while (r == 0 && argv[3][0] == 'r' && fgets(line, sizeof line, stdin))
		r = do_step(&p, line, &err);
	if (p.fd >= 0)
		close(p.fd);
	atv_companion_frame_dec_release(&p.dec);
	atv_hap_cipher_wipe(&p.cipher);
	if (r < 0) {
		fprintf(stderr, "companion-probe: %s\n", err.msg);
		return atv_exit_status(r);
	}
	return fflush(stdout) ? ATV_EXIT_IO : 0;
}
